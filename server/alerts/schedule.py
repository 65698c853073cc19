"""The alert jobs, run by one replica each (a ``JobRun`` claim, as the report snapshots are).

- Evaluation: every ``KIEMKE_ALERT_EVALUATE_MINUTES`` (60) over the whole district; the claim is per slot of
  the local day (``alert-evaluation:<slot>``), so however many replicas tick, one evaluates each slot.
- Digest: once a day, at the first tick at or after ``KIEMKE_ALERT_DIGEST_HOUR`` in the district's zone
  (``alert-digest``); a run that could not reach the mail server is marked failed, and the next hourly tick
  tries again.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from server.alerts.config import AlertSettings
from server.alerts.digest import DigestRun, send_digests
from server.alerts.evaluate import evaluate_all
from server.alerts.store import Changes
from server.clock import utcnow
from server.report.store import claim, finish
from server.services.policy import Policy

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)
EVALUATE_JOB = "alert-evaluation"
DIGEST_JOB = "alert-digest"


def _runner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_evaluation_job(engine: Engine, policy: Policy, tz: tzinfo, settings: AlertSettings, *,
                       now: datetime | None = None) -> Changes | None:
    """Evaluate every rule if this runner wins the current slot; None when another replica has it."""
    now = now or utcnow()
    local = now.astimezone(tz)
    slot = (local.hour * 60 + local.minute) // settings.evaluate_minutes
    job = f"{EVALUATE_JOB}:{slot}"
    if not claim(engine, job, local.date(), _runner(), stale_after=timedelta(minutes=30), now=now):
        return None
    try:
        changes = evaluate_all(engine, policy, tz, now=now)
    except Exception as exc:
        log.exception("alert evaluation failed")
        finish(engine, job, local.date(), ok=False, detail=f"{type(exc).__name__}: {exc}")
        return None
    finish(engine, job, local.date(), ok=True, detail=f"opened {len(changes.opened)}, resolved {len(changes.resolved)}")
    return changes


def run_digest_job(engine: Engine, tz: tzinfo, settings: AlertSettings, *,
                   now: datetime | None = None) -> DigestRun | None:
    """Send the day's digests when the local hour has come and this runner wins the day; None otherwise."""
    now = now or utcnow()
    local = now.astimezone(tz)
    if not settings.mail_configured or local.hour < settings.digest_hour:
        return None
    if not claim(engine, DIGEST_JOB, local.date(), _runner(), stale_after=timedelta(minutes=30), now=now):
        return None
    try:
        run = send_digests(engine, settings, tz, now=now)
    except Exception as exc:
        log.exception("alert digests failed")
        finish(engine, DIGEST_JOB, local.date(), ok=False, detail=f"{type(exc).__name__}: {exc}")
        return None
    failed = bool(run.error or run.failed)
    finish(engine, DIGEST_JOB, local.date(), ok=not failed,
           detail=f"sent {len(run.sent)}, failed {len(run.failed)}" + (f": {run.error}" if run.error else ""))
    return run


def add_alert_jobs(scheduler: BaseScheduler, engine: Engine, policy: Policy, tz: tzinfo,
                   settings: AlertSettings | None = None) -> None:
    """Add the evaluation and the digest to the server's scheduler (each also ticks once at start-up)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    settings = settings or AlertSettings.from_env()

    def evaluate() -> None:
        run_evaluation_job(engine, policy, tz, settings)

    def digest() -> None:
        run_digest_job(engine, tz, settings)

    common = {"coalesce": True, "max_instances": 1, "replace_existing": True}
    scheduler.add_job(evaluate, IntervalTrigger(minutes=settings.evaluate_minutes), id=EVALUATE_JOB,
                      misfire_grace_time=settings.evaluate_minutes * 60, **common)
    scheduler.add_job(evaluate, id=f"{EVALUATE_JOB}:start-up", **common)
    scheduler.add_job(digest, CronTrigger(minute=5, timezone=tz), id=DIGEST_JOB, misfire_grace_time=3600, **common)
    scheduler.add_job(digest, id=f"{DIGEST_JOB}:start-up", **common)
