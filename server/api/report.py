"""Report endpoints: the report as of a date in md, txt, json or docx, and the reports kept by the schedule.

Access goes through ``ReportReader`` (``server.api.deps``): a console session whose reach covers ``?unit=``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from server.api.deps import EngineDep, ReportReader, SettingsDep
from server.api.downloads import bounded_day, clean_param, content_disposition
from server.api.responses import errors, files
from server.bounds import MAX_ID
from server.clock import local_today
from server.db import reading
from server.models import ReportSnapshot
from server.report import MEDIA_TYPES, Format, render
from server.report.annex import item_keys
from server.report.document import ReportDocument
from server.report.generate import ReportRequest, UnknownUnit, make_report
from server.report.numbers import Lang
from server.report.store import kept_content, listing
from server.services.policy import Policy

router = APIRouter(prefix="/api/v1", tags=["report"])


def _file_name(as_of: date, unit: str | None, fmt: Format) -> str:
    scope = unit or "toan-huyen"  # the header carries an ASCII fallback beside the exact name
    return f"bao-cao-{as_of.isoformat()}-{scope}.{fmt}"


def _response(data: bytes, fmt: Format, as_of: date, unit: str | None) -> Response:
    # .docx is saved; the text formats open in the browser, and keep their name when saved from there.
    disposition = content_disposition(_file_name(as_of, unit, fmt), "attachment" if fmt == "docx" else "inline")
    return Response(content=data, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})


@router.get("/report", summary="The report section as of a cut-off date",
            responses={**files("md", "txt", "json", "docx", description="The report in the format asked for"),
                       **errors(401, 403, 404, 422)})
async def get_report(
    engine: EngineDep,
    settings: SettingsDep,
    _reader: ReportReader,
    as_of: Annotated[date | None, Query(description="Cut-off date (2000-01-01 to 9999-12-30); default today "
                                        "(district time)")] = None,
    unit: Annotated[str | None, Query(max_length=64, description="Code of the unit whose subtree is reported")] = None,
    lang: Annotated[Lang, Query(description="vi or en")] = "vi",
    format: Annotated[Format, Query(description="md, txt, json or docx")] = "md",
    period: Annotated[str | None, Query(max_length=200, description="Period label for the title")] = None,
    items: Annotated[str | None, Query(max_length=2000,
                                       description="'all', or comma-separated figure keys whose lists to add")] = None,
    compare_to: Annotated[date | None, Query(description="Previous cut-off to compare with")] = None,
) -> Response:
    """Generated from history on each request: the same numbers as the console and the command line."""
    cut_off = bounded_day(as_of, "as_of") or local_today(settings.tz)
    compare_to = bounded_day(compare_to, "compare_to")
    unit, period = clean_param(unit, "unit"), clean_param(period, "period")
    try:
        keys = item_keys(items) if items is not None else ()
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    request = ReportRequest(as_of=cut_off, unit_code=unit, lang=lang, period=period, items=keys,
                            compare_to=compare_to)

    def build() -> bytes:
        with reading(engine) as session:
            document: ReportDocument = make_report(session, request, Policy.from_settings(settings), settings.tz)
        return render(document, format)

    try:
        data = await run_in_threadpool(build)  # figures and .docx take CPU time: keep the event loop free
    except UnknownUnit as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc.args[0])) from exc
    return _response(data, format, cut_off, unit)


class KeptReport(BaseModel):
    """A kept report, without its content."""

    id: int
    as_of: date
    period: str
    unit_code: str | None
    lang: str
    trigger: str
    created_at: datetime
    corrected_after: datetime | None


class KeptReports(BaseModel):
    """The list of kept reports, newest cut-off first."""

    data: list[KeptReport]
    count: int


@router.get("/report/kept", summary="Reports kept on the scheduled cut-off dates", responses=errors(401, 403, 422))
def list_kept(engine: EngineDep, _reader: ReportReader,
              unit: Annotated[str | None, Query(max_length=64)] = None) -> KeptReports:
    """Kept reports of a scope (default: the whole tree), for the console's list."""
    unit = clean_param(unit, "unit")
    with reading(engine) as session:
        rows = [KeptReport.model_validate(r, from_attributes=True) for r in listing(session, unit)]
    return KeptReports(data=rows, count=len(rows))


@router.get("/report/kept/{report_id}", summary="One kept report, as it was generated",
            responses={**files("md", "json", "docx", description="The kept report in the format asked for"),
                       **errors(401, 403, 404, 422)})
def get_kept(
    engine: EngineDep,
    _reader: ReportReader,
    report_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Id of the kept report")],
    format: Annotated[Literal["md", "json", "docx"], Query(description="md, json or docx")] = "md",
) -> Response:
    """The kept content, unchanged since it was generated."""
    with reading(engine) as session:
        row = session.get(ReportSnapshot, report_id)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no kept report {report_id}")
        return _response(kept_content(row, format), format, row.as_of, row.unit_code)
