"""Scheduled jobs of the server: report snapshots kept on the configured cut-off dates, one runner at a time.

Every replica runs the same scheduler; each run first claims ``(job, date)`` in the database
(``server.report.store.claim``), so however many replicas tick, one generates and keeps each report.
The cut-off dates are month-days (``KIEMKE_REPORT_CUTOFFS``, default ``05-18,11-18``: the district's
six-monthly report dates). A cut-off day is reported once it has ended: the job ticks shortly after
midnight in the district's time zone, and at start-up, catching up on cut-offs missed while the server was
down for up to ``catch_up_days``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session

from server.clock import local_today
from server.db import reading, writing
from server.report.document import ReportDocument
from server.report.generate import ReportRequest, keep, make_report
from server.report.numbers import LANGS, Lang
from server.report.store import claim, finish
from server.services.policy import Policy

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

    from server.config import Settings

log = logging.getLogger(__name__)

REPORT_JOB = "report-snapshots"
DEFAULT_CUT_OFFS = ("05-18", "11-18")

Generate = Callable[[Session, ReportRequest], ReportDocument]


@dataclass(frozen=True)
class ReportSchedule:
    """Which reports are kept, and when."""

    cut_offs: tuple[str, ...] = DEFAULT_CUT_OFFS  # "MM-DD"
    langs: tuple[Lang, ...] = ("vi",)
    units: tuple[str | None, ...] = (None,)  # None: the whole tree
    catch_up_days: int = 7
    hour: int = 0
    minute: int = 30
    runner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    def __post_init__(self) -> None:
        for text in self.cut_offs:
            month, day = (int(p) for p in text.split("-"))
            date(2024, month, day)  # a leap year, so 02-29 is allowed; raises ValueError for 13-40

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReportSchedule:
        """``KIEMKE_REPORT_CUTOFFS`` (``05-18,11-18``), ``KIEMKE_REPORT_LANGS`` (``vi``), ``KIEMKE_REPORT_UNITS``,
        as ``server.config.Settings`` reads them."""
        from server.config import Settings

        settings = Settings.from_env(env)
        cut_offs = tuple(p.strip() for p in settings.report_cutoffs.split(",") if p.strip())
        langs = tuple(p.strip() for p in settings.report_langs.split(",") if p.strip())
        units = tuple(p.strip() for p in settings.report_units.split(",") if p.strip())
        bad = [lang for lang in langs if lang not in LANGS]
        if bad:
            raise ValueError(f"KIEMKE_REPORT_LANGS: unknown language {bad[0]!r} (vi or en)")
        return cls(cut_offs=cut_offs, langs=tuple(lang for lang in LANGS if lang in langs),
                   units=units or (None,))


def due_cut_offs(today: date, schedule: ReportSchedule) -> list[date]:
    """Cut-off dates that have ended by ``today`` and fall within the catch-up window, oldest first."""
    due = []
    for year in (today.year - 1, today.year):
        for text in schedule.cut_offs:
            month, day = (int(p) for p in text.split("-"))
            try:
                cut_off = date(year, month, day)
            except ValueError:  # 02-29 outside a leap year
                continue
            if cut_off < today and today - cut_off <= timedelta(days=schedule.catch_up_days):
                due.append(cut_off)
    return sorted(due)


def _job_name(unit: str | None, lang: Lang) -> str:
    return f"{REPORT_JOB}:{unit or '*'}:{lang}"


def run_report_job(
    engine: Engine,
    policy: Policy,
    schedule: ReportSchedule,
    today: date,
    *,
    tz: tzinfo | None = None,
    generate: Generate | None = None,
    now: datetime | None = None,
) -> list[tuple[date, str | None, Lang]]:
    """Generate and keep every due report this runner wins the claim for; returns what it generated."""

    def from_history(session: Session, request: ReportRequest) -> ReportDocument:
        return make_report(session, request, policy, tz)

    make = generate or from_history
    made = []
    for cut_off in due_cut_offs(today, schedule):
        for unit in schedule.units:
            for lang in schedule.langs:
                job = _job_name(unit, lang)
                if not claim(engine, job, cut_off, schedule.runner, now=now):
                    continue
                request = ReportRequest(as_of=cut_off, unit_code=unit, lang=lang)
                try:
                    # read in one transaction, write in a short one: SQLite's write lock is not held while
                    # the figures are computed, so agents' reports keep arriving
                    with reading(engine) as session:
                        document = make(session, request)
                    with writing(engine) as session:
                        keep(session, document, trigger="schedule")
                except Exception as exc:
                    log.exception("report for %s (%s, %s) failed", cut_off, unit or "all units", lang)
                    finish(engine, job, cut_off, ok=False, detail=f"{type(exc).__name__}: {exc}")
                    continue
                finish(engine, job, cut_off, ok=True)
                made.append((cut_off, unit, lang))
                log.info("kept the report as of %s (%s, %s)", cut_off, unit or "all units", lang)
    return made


def start_scheduler(engine: Engine, settings: Settings, schedule: ReportSchedule | None = None) -> BackgroundScheduler:
    """Start the background scheduler: a daily tick after midnight (local time) and one at start-up."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    schedule = schedule or ReportSchedule.from_env()
    policy = Policy.from_settings(settings)
    tz = settings.tz

    def tick() -> None:
        run_report_job(engine, policy, schedule, local_today(tz), tz=tz)

    scheduler = BackgroundScheduler(timezone=tz)
    # coalesce + one instance: a tick delayed by a sleeping host runs once, never twice in parallel
    scheduler.add_job(tick, CronTrigger(hour=schedule.hour, minute=schedule.minute, timezone=tz), id=REPORT_JOB,
                      coalesce=True, max_instances=1, misfire_grace_time=6 * 3600, replace_existing=True)
    scheduler.add_job(tick, id=f"{REPORT_JOB}:start-up", coalesce=True, max_instances=1)
    from server.alerts.schedule import add_alert_jobs

    add_alert_jobs(scheduler, engine, policy, tz)
    scheduler.start()
    return scheduler
