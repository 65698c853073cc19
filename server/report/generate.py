"""From the database to a report: the figures as of the cut-off (``services.figures``), then the document.

The figures come only from ``services.figures.figures_as_of``, the path the console and the command line take
too, on a snapshot rebuilt from history, so a report for a past date says what it said when first made unless
its inputs were corrected (the document then says so). ``UnknownUnit`` is re-exported for the API and console.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo

from sqlmodel import Session

from server.models import ReportSnapshot
from server.report import render
from server.report.document import ReportDocument
from server.report.numbers import Lang
from server.report.section import build_report
from server.report.store import previous_cut_off, save
from server.services.figure import Coverage
from server.services.figures import UnknownUnit as UnknownUnit
from server.services.figures import figures_as_of
from server.services.policy import Policy


@dataclass(frozen=True)
class ReportRequest:
    """What the officer asked for: the same options from the command line, the API and the console."""

    as_of: date
    unit_code: str | None = None
    lang: Lang = "vi"
    period: str | None = None
    items: tuple[str, ...] = ()  # figure keys whose item lists are added as annex 2 (see annex.item_keys)
    compare_to: date | None = None  # None: the cut-off of the latest kept report before ``as_of``, if any
    compare: bool = True


def make_report(session: Session, request: ReportRequest, policy: Policy, tz: tzinfo | None = None) -> ReportDocument:
    """The report document for ``request``, compared with the previous period when there is one."""
    now = figures_as_of(session, request.as_of, request.unit_code, policy=policy, tz=tz)
    previous: Coverage | None = None
    if request.compare:
        earlier = request.compare_to or previous_cut_off(session, request.as_of, request.unit_code)
        if earlier is not None and earlier < request.as_of:
            try:
                previous = figures_as_of(session, earlier, request.unit_code, policy=policy, tz=tz).coverage
            except UnknownUnit:
                previous = None  # the unit did not exist yet: there is nothing to compare with
    return build_report(
        now.coverage, now.snapshot, request.lang, period=request.period, previous=previous,
        items=request.items or False, service_life_years=policy.service_life_years, tz=tz,
    )


def keep(session: Session, document: ReportDocument, trigger: str = "manual") -> ReportSnapshot:
    """Store the report in every kept format (the caller commits)."""
    meta = document.meta
    return save(session, ReportSnapshot(
        as_of=meta.as_of, period=meta.period, unit_code=meta.unit_code, lang=meta.lang, trigger=trigger,
        corrected_after=meta.corrected_after, markdown=render(document, "md").decode(),
        json_text=render(document, "json").decode(), docx=render(document, "docx"),
    ))
