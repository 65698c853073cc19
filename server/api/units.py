"""``GET /api/v1/units``: the units of the token's scope as of a date, each with its own and its subtree's counts."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from server.api.deps import EngineDep, SettingsDep
from server.api.responses import errors
from server.api.scoped import (
    AsOfQ,
    Page,
    PageQ,
    SizeQ,
    UnitQ,
    cut_off,
    page_bounds,
    scoped_figures,
    shared_cache,
    unit_param,
)
from server.api.tokens import ReachDep
from server.services.figures import Figures
from server.services.state import COMPUTER_KINDS, InternetLink, UnitKind
from server.services.unit_tree import UnitTree

router = APIRouter(prefix="/api/v1", tags=["read"])


class FigureValue(BaseModel):
    """A count out of a total (``percent`` null when there is nothing to count)."""

    numerator: int
    denominator: int
    percent: float | None


class UnitPublic(BaseModel):
    """A unit's hand-kept facts as of the date, its own devices, and its subtree's main figures."""

    code: str
    name: str
    kind: UnitKind
    parent: str | None = Field(description="Code of the parent unit")
    staff: int | None
    lan: bool | None
    wifi: bool | None
    wan: bool | None
    internet: InternetLink | None
    one_stop_shop: bool
    own_devices_in_use: int = Field(description="Devices in use recorded in this unit itself")
    own_computers_in_use: int = Field(description="Computers in use recorded in this unit itself")
    subtree_devices_in_use: int = Field(description="Devices in use in this unit and every unit below it")
    subtree_figures: dict[str, FigureValue] = Field(
        description="This unit's own-subtree figures (the same keys as /api/v1/figures)")


class UnitsPage(Page):
    """One page of the scope's units, parents before children."""

    data: list[UnitPublic]


def _counts(computed: Figures) -> tuple[UnitTree, Counter[str], Counter[str], Counter[str]]:
    """The tree, and the devices in use of the scope per unit: its own, its own computers, its subtree's
    (a walk over every device: made once per computed scope and kept with it)."""
    snapshot, coverage = computed.snapshot, computed.coverage
    tree = UnitTree(snapshot.units)
    in_use = [d for d in snapshot.devices if d.status == "in_use" and d.id in coverage.assessments]
    own = Counter(d.unit_code for d in in_use)
    own_computers = Counter(d.unit_code for d in in_use if d.kind in COMPUTER_KINDS)
    subtree = Counter(code for d in in_use for code in tree.ancestors(d.unit_code))
    return tree, own, own_computers, subtree


@router.get("/units", summary="The units of a scope as of a date", responses=errors(401, 403, 404, 422))
async def list_units(
    request: Request, engine: EngineDep, settings: SettingsDep, reach: ReachDep,
    as_of: AsOfQ = None, unit: UnitQ = None,
    figures: Annotated[bool, Query(description="Include each unit's subtree figures")] = False,
    page: PageQ = 1, size: SizeQ = 100,
) -> UnitsPage:
    """A unit's own counts and its subtree's are given apart: a district's own devices are not its communes'."""
    day: date = cut_off(as_of, settings)
    scope = reach.scope(unit_param(unit))
    computed = await scoped_figures(engine, settings, day, scope, shared_cache(request))
    coverage = computed.coverage
    # a walk over every device, once per computed scope: off the event loop
    tree, own, own_computers, subtree = await run_in_threadpool(
        computed.derived, "api.unit_counts", lambda: _counts(computed))
    codes = tree.subtree(scope) if scope is not None else tree.everything()
    pages, start, end = page_bounds(len(codes), page, size)
    rows = []
    for code in codes[start:end]:
        u = tree.units[code]
        figs = coverage.per_unit.get(code, {}) if figures else {}
        rows.append(UnitPublic(
            code=code, name=u.name, kind=u.kind, parent=tree.parent.get(code), staff=u.staff, lan=u.lan,
            wifi=u.wifi, wan=u.wan, internet=u.internet, one_stop_shop=u.one_stop_shop,
            own_devices_in_use=own[code], own_computers_in_use=own_computers[code],
            subtree_devices_in_use=subtree[code],
            subtree_figures={k: FigureValue(numerator=f.numerator, denominator=f.denominator, percent=f.percent)
                             for k, f in figs.items()}))
    return UnitsPage(as_of=day, unit=scope, count=len(codes), page=page, size=size, pages=pages, data=rows)
