"""Kept reports on the console: the scope's reports kept on scheduled (or asked-for) cut-off dates, downloaded
as they were generated. A report is readable by whoever's reach covers its unit (the whole tree's: unbound
users only); every download is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.engine import Engine

from server.api.deps import get_engine as _engine
from server.api.downloads import content_disposition
from server.bounds import MAX_ID
from server.console import auth
from server.console.views import ConsoleError, UserDep, _harden, _view
from server.db import reading
from server.models import ReportSnapshot, table_of
from server.report import MEDIA_TYPES
from server.report.store import kept_content

router = APIRouter(include_in_schema=False)
SHOWN = 12


@dataclass(frozen=True)
class KeptLine:
    """A kept report as listed (without its content)."""

    id: int
    as_of: date
    period: str
    lang: str
    trigger: str
    created_at: datetime
    corrected_after: datetime | None


def kept_list(engine: Engine, unit: str | None, limit: int = SHOWN) -> list[KeptLine]:
    """The scope's kept reports, newest cut-off first (their content is not read)."""
    kept = table_of(ReportSnapshot).c
    scope = kept.unit_code.is_(None) if unit is None else kept.unit_code == unit
    query = (sa.select(kept.id, kept.as_of, kept.period, kept.lang, kept.trigger, kept.created_at,
                       kept.corrected_after).where(scope).order_by(kept.as_of.desc(), kept.id.desc()).limit(limit))
    with engine.connect() as conn:
        return [KeptLine(*row) for row in conn.execute(query)]


@router.get("/reports/kept/{report_id}")
def kept_report(request: Request, user: UserDep, report_id: Annotated[int, Path(ge=1, le=MAX_ID)],
                format: Literal["docx", "md"] = "docx") -> Response:
    """One kept report as generated; out of the user's reach it reads as unknown (404). Audited."""
    view = _view(request, user, None, None)
    engine = _engine(request)
    with reading(engine) as session:
        row = session.get(ReportSnapshot, report_id)
        reach = {c.code for c in view.choices}
        if row is None or (row.unit_code is None and user.unit_code is not None) or (
                row.unit_code is not None and row.unit_code not in reach):
            raise ConsoleError(404, "not_found_title", view.texts("not_found"))
        body, as_of, unit = kept_content(row, format), row.as_of, row.unit_code
    auth.record(engine, user.username, "console.report", kept=report_id, as_of=as_of.isoformat(), unit=unit,
                format=format)
    name = f"bao-cao-{as_of.isoformat()}-{unit or 'toan-huyen'}.{format}"
    return _harden(request, Response(body, media_type=MEDIA_TYPES[format],
                                     headers={"Content-Disposition": content_disposition(name)}))
