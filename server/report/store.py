"""Kept reports and the job-run claim that lets one replica, and only one, run a scheduled job.

Two tables, defined here because only the report uses them. They live in their own ``MetaData``
(``REPORT_METADATA``), not the shared one that migrations and test fixtures walk, so a database migrated
without them stays valid; ``ensure_tables`` creates them on first use (idempotent; an Alembic revision
adding the same two tables can replace it):

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
from sqlalchemy.orm import registry
from sqlmodel import Field, Session, SQLModel, col, select

from server.db import writing
from server.models import UTCDateTime, table_of, utcnow

_REGISTRY = registry()
REPORT_METADATA = _REGISTRY.metadata


class ReportBase(SQLModel, registry=_REGISTRY):
    """Base of the report's own tables (their own metadata, see the module docstring)."""


class ReportSnapshot(ReportBase, table=True):
    """A report as generated for a cut-off date and kept for later reading."""

    __tablename__ = "report_snapshot"
    __table_args__ = (sa.Index("ix_report_snapshot_as_of", "as_of", "unit_code"),)
    id: int | None = Field(default=None, primary_key=True)
    as_of: date = Field(description="Cut-off date the figures describe (end of that day)")
    period: str = Field(max_length=128, description="Period label printed in the title")
    unit_code: str | None = Field(default=None, max_length=64, description="Root unit of the scope; None: all")
    lang: str = Field(max_length=8, description="vi or en")
    trigger: str = Field(default="manual", max_length=16, description="schedule or manual")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    corrected_after: datetime | None = Field(default=None, sa_type=UTCDateTime,
                                             description="Inputs for the date were corrected after it")
    markdown: str = Field(sa_type=sa.Text, description="The report in Markdown")
    json_text: str = Field(sa_type=sa.Text, description="The report as JSON (figures and text)")
    docx: bytes = Field(sa_type=sa.LargeBinary, description="The report as a Word document")


class JobRun(ReportBase, table=True):
    """A claim to run a scheduled job for one date: the unique key is what makes one replica the runner."""

    __tablename__ = "job_run"
    __table_args__ = (sa.UniqueConstraint("job", "run_date", name="uq_job_run_job_date"),)
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64)
    run_date: date
    runner: str = Field(max_length=128, description="Host and process that claimed the run")
    status: str = Field(default="running", max_length=16, description="running, done or failed")
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    detail: str | None = Field(default=None, sa_type=sa.Text)


TABLES = (table_of(ReportSnapshot), table_of(JobRun))


def ensure_tables(engine: Engine) -> None:
    """Create the two tables if a migration has not (idempotent)."""
    REPORT_METADATA.create_all(engine, tables=list(TABLES), checkfirst=True)


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


def listing(session: Session, unit_code: str | None = None, limit: int = 100) -> Sequence[ReportSnapshot]:
    """Kept reports, newest cut-off first (for the console's list)."""
    query = select(ReportSnapshot).where(col(ReportSnapshot.unit_code).is_(None) if unit_code is None
                                         else col(ReportSnapshot.unit_code) == unit_code)
    return session.exec(query.order_by(col(ReportSnapshot.as_of).desc(), col(ReportSnapshot.id).desc())
                        .limit(limit)).all()


def previous_cut_off(session: Session, as_of: date, unit_code: str | None) -> date | None:
    """The latest cut-off date before ``as_of`` with a kept report for the same scope: the previous period."""
    query = select(sa.func.max(ReportSnapshot.as_of)).where(col(ReportSnapshot.as_of) < as_of)
    query = query.where(col(ReportSnapshot.unit_code).is_(None) if unit_code is None
                        else col(ReportSnapshot.unit_code) == unit_code)
    found: date | None = session.exec(query).one()
    return found
