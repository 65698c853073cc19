"""``GET /api/v1/figures``: every figure of a scope as of a date, as the overview and the report give them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from server.api.deps import EngineDep, SettingsDep
from server.api.responses import errors
from server.api.scoped import AsOfQ, UnitQ, cut_off, scoped_figures, shared_cache, unit_param
from server.api.tokens import ReachDep
from server.services.figure import Figure

router = APIRouter(prefix="/api/v1", tags=["read"])


class FigurePublic(BaseModel):
    """A count out of a total, with the items (device ids or unit codes) that make the numerator."""

    numerator: int
    denominator: int
    percent: float | None = Field(description="Rounded half up to two places; null when the denominator is 0")
    items: list[int | str] = Field(description="Device ids, or unit codes for the unit figures")
    note: str | None = Field(default=None, description="Why the figure is what it is (English key)")
    detail: dict[str, int] = Field(default_factory=dict, description="Breakdowns, e.g. by evidence")


class FiguresPublic(BaseModel):
    """The figures of a scope at the end of a date."""

    as_of: date
    unit: str | None = Field(description="Root of the scope; null: the whole tree")
    corrected_after: datetime | None = Field(description="Inputs for this date were corrected after it, then")
    figures: dict[str, FigurePublic]
    per_unit: dict[str, dict[str, FigurePublic]] | None = Field(
        default=None, description="Each unit's own-subtree figures, when asked for")


def _public(fig: Figure, items: bool = True) -> FigurePublic:
    return FigurePublic(numerator=fig.numerator, denominator=fig.denominator, percent=fig.percent,
                        items=list(fig.items) if items else [], note=fig.note, detail=dict(fig.detail))


@router.get("/figures", summary="Every figure of a scope as of a date", responses=errors(401, 403, 404, 422))
async def get_figures(
    request: Request, engine: EngineDep, settings: SettingsDep, reach: ReachDep,
    as_of: AsOfQ = None, unit: UnitQ = None,
    per_unit: Annotated[bool, Query(description="Also each unit's own-subtree figures")] = False,
    items: Annotated[bool, Query(description="false: leave out the item lists (the counts alone, much smaller)")]
    = True,
) -> FiguresPublic:
    """The same numbers as the console's overview, ``kiemke-server figures --json`` and the report."""
    day = cut_off(as_of, settings)
    scope = reach.scope(unit_param(unit))
    coverage = (await scoped_figures(engine, settings, day, scope, shared_cache(request))).coverage
    return FiguresPublic(
        as_of=day, unit=scope, corrected_after=coverage.corrected_after,
        figures={k: _public(f, items) for k, f in coverage.figures.items()},
        per_unit={code: {k: _public(f, items) for k, f in figs.items()} for code, figs in coverage.per_unit.items()}
        if per_unit else None)
