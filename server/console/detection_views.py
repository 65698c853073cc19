"""The console's list of malware detections to act on (``/detections``) and its CSV and XLSX exports.

The list reads the same snapshot and coverage as the figures (the user's unit subtree as of the date), so its
counts are the overview's. Filters combine: status (``unremediated`` = active or failed), severity, and found
or changed since a day; unknown values are dropped (a stale bookmark still opens), a malformed date is a 400.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from server.api.deps import get_engine as _engine
from server.api.deps import get_settings as _settings
from server.api.downloads import content_disposition
from server.bounds import EARLIEST_DAY
from server.clock import end_of_day
from server.console import auth
from server.console.auth import ConsoleUser
from server.console.data import neutralise
from server.console.device_detail import local_time
from server.console.i18n import Texts
from server.console.views import (
    XLSX_MEDIA_TYPE,
    AsOf,
    ConsoleError,
    UnitQ,
    UserDep,
    View,
    _computed,
    _harden,
    _page,
    _view,
)
from server.db import reading
from server.report.numbers import Lang
from server.services.detections import SEVERITIES, DetectionEntry, DetectionFilter, detection_entries
from server.services.figures import Figures

router = APIRouter(include_in_schema=False)
STATUS_FILTERS = ("unremediated", "active", "failed", "remediated", "allowed", "unknown")
CSV_COLUMNS = ("id", "unit", "unit_name", "device_id", "device", "threat", "category", "severity", "status",
               "status_since", "first_reported_at", "detected_at", "action", "action_success", "source", "product",
               "resources")
XLSX_COLUMNS = ("col_unit", "det_device", "det_threat", "det_severity", "det_status", "det_status_since",
                "det_first_reported", "det_action", "det_files")
Choices = Annotated[list[str], Query(max_length=32)]
Since = Annotated[str | None, Query(max_length=10)]


@dataclass(frozen=True)
class Listed:
    """The scope's detections narrowed by the query, and the query to give back to the form and links."""

    view: View
    computed: Figures
    entries: list[DetectionEntry]
    statuses: tuple[str, ...]
    severities: tuple[str, ...]
    since: date | None

    @property
    def unit_names(self) -> dict[str, str]:
        """Unit code -> name, as of the date."""
        return {u.code: u.name for u in self.computed.snapshot.units}

    def params(self) -> dict[str, Any]:
        """The query string of these filters (none left out), for the export links."""
        return {"status": list(self.statuses) or None, "severity": list(self.severities) or None,
                "since": self.since.isoformat() if self.since else None}


def _listed(request: Request, user: ConsoleUser, as_of: str | None, unit: str | None, status: list[str],
            severity: list[str], since: str | None) -> Listed:
    """The scope (checked against the user's reach) and its detections narrowed by the query."""
    view = _view(request, user, as_of, unit)
    computed = _computed(request, view)
    tz = _settings(request).tz
    day = None
    if since:
        try:
            day = date.fromisoformat(since)
        except ValueError:
            raise ConsoleError(400, "bad_date", view.texts("bad_date")) from None
        if day < EARLIEST_DAY:
            raise ConsoleError(422, "bad_date", view.texts("bad_date"))
    statuses = tuple(dict.fromkeys(s for s in status if s in STATUS_FILTERS))
    severities = tuple(dict.fromkeys(s for s in severity if s in SEVERITIES))
    narrow = DetectionFilter(frozenset(statuses), frozenset(severities),
                             end_of_day(day - timedelta(days=1), tz) if day else None)
    with reading(_engine(request)) as session:
        entries = detection_entries(session, computed.snapshot, computed.coverage.assessments,
                                    end_of_day(view.as_of, tz), narrow)
    return Listed(view, computed, entries, statuses, severities, day)


@router.get("/detections")
def detections(request: Request, user: UserDep, as_of: AsOf = None, unit: UnitQ = None,
               status: Choices = [], severity: Choices = [], since: Since = None) -> Response:  # noqa: B006
    """Detections of the scope as of the date, unremediated first, with the period's counts."""
    listed = _listed(request, user, as_of, unit, status, severity, since)
    view, figures = listed.view, listed.computed.coverage.figures
    return _page(request, view, "detections.html", listed=listed, statuses=STATUS_FILTERS, severities=SEVERITIES,
                 computers=figures["computers_with_detections"], open_=figures["detections_unremediated"],
                 filters=listed.params(), names=listed.unit_names,
                 when=lambda value: local_time(value, _settings(request).tz, view.lang) if value else "")


def _download(request: Request, user: ConsoleUser, extension: str, listed: Listed, body: bytes,
              media_type: str) -> Response:
    """An export as a download, audited like the device list's (who, scope, date, filters, rows)."""
    view = listed.view
    filters = {k: v for k, v in request.query_params.multi_items() if k != "lang"}
    auth.record(_engine(request), user.username, "console.export", format=extension, unit=view.unit,
                as_of=view.as_of.isoformat(), rows=len(listed.entries), filters=filters, list="detections")
    name = f"phat-hien-ma-doc-{view.as_of.isoformat()}-{view.unit or 'toan-huyen'}.{extension}"
    return _harden(request, Response(body, media_type=media_type,
                                     headers={"Content-Disposition": content_disposition(name)}))


@router.get("/detections.csv")
def detections_csv(request: Request, user: UserDep, as_of: AsOf = None, unit: UnitQ = None,
                   status: Choices = [], severity: Choices = [], since: Since = None) -> Response:  # noqa: B006
    """The same list as CSV with stable English columns (for scripts)."""
    listed = _listed(request, user, as_of, unit, status, severity, since)
    body = entries_csv(listed.entries, listed.unit_names).encode()
    return _download(request, user, "csv", listed, body, "text/csv; charset=utf-8")


@router.get("/detections.xlsx")
def detections_xlsx(request: Request, user: UserDep, as_of: AsOf = None, unit: UnitQ = None,
                    status: Choices = [], severity: Choices = [], since: Since = None) -> Response:  # noqa: B006
    """The same list as a workbook, headers and values in the console's language."""
    listed = _listed(request, user, as_of, unit, status, severity, since)
    view = listed.view
    body = entries_xlsx(listed.entries, listed.unit_names, view.texts, view.lang, _settings(request).tz)
    return _download(request, user, "xlsx", listed, body, XLSX_MEDIA_TYPE)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return neutralise(str(value))


def entries_csv(entries: Iterable[DetectionEntry], unit_names: dict[str, str]) -> str:
    """The detections as CSV (``CSV_COLUMNS``), UTF-8 with a BOM so that Excel shows Vietnamese correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        row = e.as_json()
        row.update(unit_name=unit_names.get(e.unit_code, ""), resources=";".join(e.resources))
        writer.writerow([_cell(row.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


def entries_xlsx(entries: Iterable[DetectionEntry], unit_names: dict[str, str], texts: Texts, lang: Lang,
                 tz: tzinfo) -> bytes:
    """The detections as a workbook; text a spreadsheet would run as a formula is neutralised."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(texts("nav_detections"))
    sheet.freeze_panes = "A2"
    sheet.append([texts(c) for c in XLSX_COLUMNS])
    for e in entries:
        action = texts(f"det_action_ok:{e.action_success}") if e.action else ""
        values: list[str | datetime | None] = [
                  unit_names.get(e.unit_code, e.unit_code), e.device_name or f"#{e.device_id}", e.threat,
                  texts(f"severity:{e.severity}"), texts(f"det_status:{e.status}"),
                  e.status_since.astimezone(tz).replace(tzinfo=None),
                  e.first_reported_at.astimezone(tz).replace(tzinfo=None),
                  f"{e.action} {action}".strip() if e.action else None, "; ".join(e.resources) or None]
        row = []
        for value in values:
            if isinstance(value, str):
                cell = WriteOnlyCell(sheet, neutralise(value))
                cell.data_type = "s"
            else:
                cell = WriteOnlyCell(sheet, value)
                if value is not None:
                    cell.number_format = "dd/mm/yyyy hh:mm" if lang == "vi" else "yyyy-mm-dd hh:mm"
            row.append(cell)
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
