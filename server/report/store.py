"""Kept reports and the job-run claim that lets one replica, and only one, run a scheduled job.

The two tables live in ``server/models.py`` with the others (migration 0002):

- ``report_snapshot``: a report generated for a cut-off date, in Markdown, JSON and .docx. Bytes live in
  the database, not on one replica's disk, so any replica can serve them.
- ``job_run``: one row per (job, run date). The replica whose INSERT succeeds runs the job; the others hit
  the unique constraint and skip. A claim left "running" longer than ``stale_after`` (a crashed replica)
  can be taken over by one replica through a conditional UPDATE.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from server.db import writing
from server.models import JobRun, ReportSnapshot, table_of, utcnow

TABLES = (table_of(ReportSnapshot), table_of(JobRun))


def clear(engine: Engine) -> None:
    """Delete every kept report and job claim (tests sharing one database between cases)."""
    with writing(engine) as session:
        for table in TABLES:
            session.execute(table.delete())


def claim(engine: Engine, job: str, run_date: date, runner: str, *, stale_after: timedelta = timedelta(hours=1),
          now: datetime | None = None) -> bool:
    """True when this runner won the right to run ``job`` for ``run_date``; False when another did.

    A claim still "running" after ``stale_after`` belongs to a runner that died: exactly one caller takes
    it over (the UPDATE matches the old start time, so a second taker updates no row). A failed run can be
    claimed again at once.
    """
    now = now or utcnow()
    try:
        with writing(engine) as session:
            session.add(JobRun(job=job, run_date=run_date, runner=runner, started_at=now))
        return True
    except IntegrityError:
        pass
    table = table_of(JobRun)
    t = table.c
    with writing(engine) as session:
        row = session.execute(
            sa.select(t.id, t.status, t.started_at).where(t.job == job, t.run_date == run_date)
        ).one_or_none()
        if row is None or row.status == "done":
            return False
        started = row.started_at
        if row.status == "running" and started is not None and now - started < stale_after:
            return False
        taken = session.connection().execute(
            sa.update(table)
            .where(t.id == row.id, t.status == row.status, t.started_at == started)
            .values(runner=runner, status="running", started_at=now, finished_at=None, detail=None)
        )
        return bool(taken.rowcount == 1)


def finish(engine: Engine, job: str, run_date: date, *, ok: bool, detail: str | None = None) -> None:
    """Mark a claimed run done (or failed, so that a later tick may try again)."""
    table = table_of(JobRun)
    t = table.c
    with writing(engine) as session:
        session.execute(
            sa.update(table).where(t.job == job, t.run_date == run_date)
            .values(status="done" if ok else "failed", finished_at=utcnow(), detail=detail)
        )


def save(session: Session, snapshot: ReportSnapshot) -> ReportSnapshot:
    """Keep a generated report (the caller commits)."""
    session.add(snapshot)
    session.flush()
    return snapshot


def kept_content(row: ReportSnapshot, fmt: str) -> bytes:
    """A kept report's content in ``fmt`` (md, json or docx: the formats it is kept in), as generated."""
    return {"md": row.markdown.encode(), "json": row.json_text.encode(), "docx": row.docx}[fmt]


def listing(session: Session, unit_code: str | None = None, limit: int = 100) -> Sequence[ReportSnapshot]:
    """Kept reports, newest cut-off first (for the console's list)."""
    query = select(ReportSnapshot).where(col(ReportSnapshot.unit_code).is_(None) if unit_code is None
                                         else col(ReportSnapshot.unit_code) == unit_code)
    found: Sequence[ReportSnapshot] = session.exec(
        query.order_by(col(ReportSnapshot.as_of).desc(), col(ReportSnapshot.id).desc()).limit(limit)).all()
    return found


def previous_cut_off(session: Session, as_of: date, unit_code: str | None) -> date | None:
    """The latest cut-off date before ``as_of`` with a kept report for the same scope: the previous period."""
    query = select(sa.func.max(ReportSnapshot.as_of)).where(col(ReportSnapshot.as_of) < as_of)
    query = query.where(col(ReportSnapshot.unit_code).is_(None) if unit_code is None
                        else col(ReportSnapshot.unit_code) == unit_code)
    found: date | None = session.exec(query).one()
    return found
