"""The read API's common ground: the scope and date a request asks for, and that scope's snapshot and coverage.

The numbers come from ``server.services.figures.figures_as_of``, the function behind the console and the report,
so ``/api/v1/figures`` reads exactly like the overview and the periodic report for the same date and unit.
"""

from __future__ import annotations

from datetime import date, tzinfo
from typing import Annotated, Protocol

from fastapi import HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from server.api.downloads import bounded_day, clean_param
from server.clock import local_today
from server.config import Settings
from server.db import reading
from server.services.figures import Figures, UnknownUnit, figures_as_of
from server.services.policy import Policy

AsOfQ = Annotated[date | None, Query(description="Cut-off date (end of that day, district time); default today")]
UnitQ = Annotated[str | None, Query(max_length=64, description="Code of the unit whose subtree is read; default the "
                                                               "token's own unit (everything for an unbound user)")]
PageQ = Annotated[int, Query(ge=1, le=100_000, description="Page number, from 1")]
SizeQ = Annotated[int, Query(ge=1, le=1000, description="Items per page (1 to 1000)")]


class Page(BaseModel):
    """Where a page of a list sits in the whole."""

    as_of: date = Field(description="The cut-off date the list describes")
    unit: str | None = Field(description="Root of the scope read; null: the whole tree")
    count: int = Field(description="How many items the whole filtered list holds")
    page: int = Field(description="This page's number, from 1")
    size: int = Field(description="Items per page")
    pages: int = Field(description="How many pages the list has")


def cut_off(as_of: date | None, settings: Settings) -> date:
    """The day asked for, bounded; a day after today (district time) is refused: nothing is known of it yet."""
    today = local_today(settings.tz)
    day = bounded_day(as_of, "as_of") or today
    if day > today:
        raise HTTPException(422, f"as_of: {day} is after today ({today})")
    return day


def unit_param(unit: str | None) -> str | None:
    """The unit parameter, refused when it holds control characters."""
    return clean_param(unit, "unit")


class SharedCache(Protocol):
    """The app's cache of computed scopes (``app.state.console_cache``), valid while the data stand still."""

    def get(self, engine: Engine, as_of: date, unit: str | None, policy: Policy, tz: tzinfo) -> Figures: ...


async def scoped_figures(engine: Engine, settings: Settings, day: date, scope: str | None,
                         cache: SharedCache | None = None) -> Figures:
    """The figures of ``scope`` at the end of ``day`` (404 when the unit did not exist then).

    With the app's shared cache (the console's, when it is installed) a scope computed for a page is not
    computed again for the API, and the reverse (with what was derived from it, such as the device index): the
    cache is keyed on the database's data version.
    """

    def build() -> Figures:
        policy = Policy.from_settings(settings)
        if cache is not None:
            return cache.get(engine, day, scope, policy, settings.tz)
        with reading(engine) as session:
            return figures_as_of(session, day, scope, policy=policy, tz=settings.tz)

    try:
        return await run_in_threadpool(build)  # a whole district's figures take CPU time: keep the loop free
    except UnknownUnit as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no unit {scope!r} on {day}") from exc


def shared_cache(request: Request) -> SharedCache | None:
    """The app's cache of computed scopes, if one is installed (read by duck type: no console import)."""
    cache = getattr(request.app.state, "console_cache", None)
    return cache if callable(getattr(cache, "get", None)) else None


def page_bounds(total: int, page: int, size: int) -> tuple[int, int, int]:
    """(pages, first index, end index) of ``page``; a page past the end is empty, never an error."""
    pages = max(1, -(-total // size))
    start = (page - 1) * size
    return pages, min(start, total), min(start + size, total)
