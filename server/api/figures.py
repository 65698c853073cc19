"""``GET /api/v1/figures``: every figure of a scope as of a date, as the overview and the report give them."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from server.api.deps import EngineDep, SettingsDep
from server.api.responses import errors
from server.api.scoped import AsOfQ, UnitQ, cut_off, scoped_figures, shared_cache, unit_param
from server.api.tokens import ReachDep
from server.services.figure import Figure
from server.services.figures import Figures

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


def _encoded(computed: Figures, day: date, scope: str | None, per_unit: bool, items: bool) -> tuple[bytes, str]:
    """The answer's JSON and its entity tag, made once per computed scope and kept with it (with the item
    lists, a district's answer is megabytes: encoding it took most of each request's time)."""

    def build() -> tuple[bytes, str]:
        coverage = computed.coverage
        body = FiguresPublic(
            as_of=day, unit=scope, corrected_after=coverage.corrected_after,
            figures={k: _public(f, items) for k, f in coverage.figures.items()},
            per_unit={code: {k: _public(f, items) for k, f in figs.items()}
                      for code, figs in coverage.per_unit.items()} if per_unit else None,
        ).model_dump_json().encode()
        return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'

    return computed.derived(f"api.figures|{day}|{scope}|{per_unit}|{items}", build)


def _matches(if_none_match: str, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 asks for it, or ``*``)."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags


@router.get("/figures", summary="Every figure of a scope as of a date", response_model=FiguresPublic,
            responses={**errors(401, 403, 404, 422),
                        304: {"description": "Unchanged since the answer whose ETag was sent in If-None-Match"}})
async def get_figures(
    request: Request, engine: EngineDep, settings: SettingsDep, reach: ReachDep,
    as_of: AsOfQ = None, unit: UnitQ = None,
    per_unit: Annotated[bool, Query(description="Also each unit's own-subtree figures")] = False,
    items: Annotated[bool, Query(description="false: leave out the item lists (the counts alone, much smaller)")]
    = True,
) -> Response:
    """The same numbers as the console's overview, ``kiemke-server figures --json`` and the report.

    The answer carries an ``ETag``: a script that sends it back in ``If-None-Match`` gets 304 (no body) while
    the figures are unchanged.
    """
    day = cut_off(as_of, settings)
    scope = reach.scope(unit_param(unit))
    computed = await scoped_figures(engine, settings, day, scope, shared_cache(request))
    body, etag = await run_in_threadpool(_encoded, computed, day, scope, per_unit, items)  # megabytes, once
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, media_type="application/json", headers={"ETag": etag})
