"""The daemon's timetable (apscheduler wiring only; the work itself is in ``agent/service.py``).

- collect: once soon after start, at a random moment in ``start_window_seconds`` (a thousand PCs switched on
  at 07:30 spread over the window instead of reporting in the same second), then every ``interval_seconds``
  plus up to ``jitter_seconds`` of random delay. Each collection runs as a child ``kiemke-agent report``
  process: the collectors' memory goes back to the OS when it exits, and a hung probe cannot hang the daemon.
- heartbeat: every ``heartbeat_seconds``, a small POST; when it gets through and reports wait, they go now.
- retry: every ``retry_check_seconds``, a look at the spool's persisted backoff; sends when a retry is due.

Every job has ``max_instances=1`` and ``coalesce=True`` (a PC waking from sleep runs a missed job once), and
the agent lock keeps a job from overlapping a ``report`` started by hand. Between jobs the daemon sleeps.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from agent.commands.report import EXIT_BUSY
from agent.config import AgentSettings
from agent.service import AgentState, retry_pending, send_heartbeat, write_schedule
from agent.spool import AgentLock, LockBusy

if TYPE_CHECKING:
    from apscheduler.events import JobExecutionEvent
    from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger("kiemke.agent")

COLLECT_JOBS = ("collect-first", "collect")


def first_run_delay(window_seconds: float, rng: random.Random | None = None) -> float:
    """Seconds from daemon start to the first collection: uniform over the start window."""
    if window_seconds <= 0:
        return 0.0
    return (rng or random).uniform(0.0, window_seconds)


def agent_command(*args: str) -> list[str]:
    """The command line that runs ``kiemke-agent`` again: the frozen .exe itself, or this Python with -m."""
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "agent", *args]


def run_collection(settings: AgentSettings) -> int:
    """One ``kiemke-agent report`` in a child process; its exit code (124 when it had to be killed)."""
    # A heartbeat or a retry round may hold the lock for a while; the collection waits its turn, not skipped.
    wait = max(1, settings.collect_timeout_seconds // 2)
    args = ["report", "--data-dir", str(settings.data_dir), "--wait", str(wait)]
    if AgentState.load(settings.state_path).reenrol_required:
        args.append("--no-send")  # keep collecting into the spool, but stop knocking with a refused key
    # No console window pops up on the user's desktop when a service starts a child on Windows.
    flags = 0x08000000 if sys.platform == "win32" else 0
    # UTF-8 both ways: a Vietnamese device name must not break the child's print on a cp1258 console.
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONUTF8": "1"}
    try:
        done = subprocess.run(
            agent_command(*args), capture_output=True, text=True, encoding="utf-8", errors="replace", env=env,
            timeout=settings.collect_timeout_seconds, check=False, creationflags=flags,
        )
    except subprocess.TimeoutExpired:
        log.error("collection took longer than %d s and was stopped", settings.collect_timeout_seconds)
        return 124
    for line in (done.stdout + done.stderr).splitlines():
        if line.strip():
            log.info("report: %s", line.rstrip())
    return done.returncode


class Daemon:
    """The scheduler around one agent's settings; ``start`` blocks until ``stop``."""

    def __init__(self, settings: AgentSettings, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.rng = rng or random.Random()
        self.scheduler = self.build()

    def build(self) -> BlockingScheduler:
        """The scheduler with its jobs, not started."""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.blocking import BlockingScheduler
        from apscheduler.triggers.date import DateTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        s = self.settings
        now = datetime.now(timezone.utc)
        first = now + timedelta(seconds=first_run_delay(s.start_window_seconds, self.rng))
        # UTC throughout: no dependence on the PC's (often wrong) time-zone settings.
        scheduler = BlockingScheduler(
            timezone=timezone.utc,
            # An executor instance, not the "threadpool" alias: aliases are looked up through package
            # entry points, which a frozen (PyInstaller) agent does not carry.
            executors={"default": ThreadPoolExecutor(max_workers=2)},
        )
        # One at a time; a run missed while the PC slept happens once on waking, however late.
        once = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(self.collect, DateTrigger(run_date=first), id="collect-first", name="first collection",
                          **once)
        scheduler.add_job(
            self.collect,
            IntervalTrigger(seconds=s.interval_seconds, start_date=first + timedelta(seconds=s.interval_seconds),
                            jitter=s.jitter_seconds or None, timezone=timezone.utc),
            id="collect", name="collection", **once,
        )
        if s.server_url:
            scheduler.add_job(
                self.heartbeat,
                IntervalTrigger(seconds=s.heartbeat_seconds, jitter=max(1, s.heartbeat_seconds // 10),
                                timezone=timezone.utc),
                id="heartbeat", name="heartbeat", **once,
            )
            scheduler.add_job(
                self.retry, IntervalTrigger(seconds=s.retry_check_seconds, timezone=timezone.utc),
                id="retry", name="spool retry", **once,
            )
        from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, EVENT_SCHEDULER_STARTED

        scheduler.add_listener(self._after_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        # Jobs get their first run times only when the scheduler starts; publish them then.
        scheduler.add_listener(lambda _event: self._publish_schedule(), EVENT_SCHEDULER_STARTED)
        return scheduler

    def next_collection_at(self) -> datetime | None:
        """When the next collection is due (after start)."""
        times = []
        for job_id in COLLECT_JOBS:
            job = self.scheduler.get_job(job_id)
            when = getattr(job, "next_run_time", None) if job else None
            if when is not None:
                times.append(when)
        return min(times) if times else None

    def _after_job(self, event: JobExecutionEvent) -> None:
        if getattr(event, "exception", None) is not None:
            log.error("job %s failed: %s", event.job_id, event.exception)
        if event.job_id in COLLECT_JOBS:
            self._publish_schedule()

    def _publish_schedule(self) -> None:
        try:
            write_schedule(self.settings, self.next_collection_at())
        except OSError as exc:
            log.warning("could not write the schedule for status: %s", exc)

    def collect(self) -> None:
        """Job: one collection and delivery in a child process."""
        code = run_collection(self.settings)
        if code == EXIT_BUSY:
            log.info("a collection started elsewhere is running; this one is skipped")
        elif code != 0:
            log.error("collection ended with exit code %d", code)

    def heartbeat(self) -> None:
        """Job: a sign of life; then, if the server answered and reports wait, deliver them without waiting."""
        try:
            with AgentLock(self.settings.lock_path):
                delivery = send_heartbeat(self.settings)
        except LockBusy:
            return  # a collection is delivering right now, which says more than a heartbeat
        if delivery is not None and delivery.arrived:
            with contextlib.suppress(LockBusy):
                retry_pending(self.settings, ignore_backoff=True)

    def retry(self) -> None:
        """Job: deliver the spool when its backoff has passed."""
        try:
            result = retry_pending(self.settings)
        except LockBusy:
            return
        if result is not None:
            log.info("spool retry: %d delivered, %d duplicate, %d set aside, %d waiting",
                     result.delivered, result.duplicates, result.set_aside, result.waiting)

    def start(self) -> None:
        """Run until ``stop`` (blocks)."""
        log.info("kiemke-agent daemon started; data in %s", self.settings.data_dir)
        self.scheduler.start()

    def stop(self) -> None:
        """Ask ``start`` to return; safe from a signal handler or another thread."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
