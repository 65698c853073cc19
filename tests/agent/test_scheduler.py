"""The daemon's timetable: first runs spread over the start window; jobs never overlap and coalesce."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from agent.config import AgentSettings
from agent.scheduler import Daemon, agent_command, first_run_delay


def test_two_hundred_agents_booting_together_spread_over_the_window() -> None:
    window = 600.0
    delays = sorted(first_run_delay(window, random.Random(seed)) for seed in range(200))
    assert all(0 <= d <= window for d in delays)
    # Ten one-minute buckets: every minute of the window gets agents, and none gets a crowd.
    buckets = [0] * 10
    for d in delays:
        buckets[min(9, int(d // 60))] += 1
    assert min(buckets) >= 8 and max(buckets) <= 40
    # No two agents in the same tenth of a second, so the server never sees a 200-request burst.
    assert len({round(d, 1) for d in delays}) >= 190
    assert delays[-1] - delays[0] > 0.9 * window


def test_no_window_means_start_now() -> None:
    assert first_run_delay(0, random.Random(1)) == 0.0


def _settings(tmp_path: Path, **values: object) -> AgentSettings:
    settings = AgentSettings.load(tmp_path, env={})
    for name, value in values.items():
        setattr(settings, name, value)
    return settings


def test_online_daemon_jobs(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, server_url="https://kiemke.example.vn", agent_id=uuid.uuid4(), agent_key="kk_a_b",
        interval_seconds=14400, jitter_seconds=1800, start_window_seconds=600,
    )
    before = datetime.now(timezone.utc)
    daemon = Daemon(settings, random.Random(3))
    jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
    assert set(jobs) == {"collect-first", "collect", "heartbeat", "retry"}
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce is True
    first = jobs["collect-first"].trigger.run_date
    assert before <= first <= before + timedelta(seconds=601)
    interval = jobs["collect"].trigger
    assert interval.interval == timedelta(hours=4) and interval.jitter == 1800
    assert interval.start_date == first + timedelta(hours=4)


def test_air_gapped_daemon_only_collects(tmp_path: Path) -> None:
    settings = _settings(tmp_path, agent_id=uuid.uuid4(), agent_key="kk_a_b", offline=True)
    daemon = Daemon(settings)
    assert {job.id for job in daemon.scheduler.get_jobs()} == {"collect-first", "collect"}


def test_agent_command_reruns_this_agent() -> None:
    cmd = agent_command("report", "--data-dir", "X")
    assert cmd[-3:] == ["report", "--data-dir", "X"] and cmd[1:3] == ["-m", "agent"]


def test_two_hundred_daemons_schedule_their_first_collection_across_the_window(tmp_path: Path) -> None:
    settings = _settings(tmp_path, server_url="https://kiemke.example.vn", agent_id=uuid.uuid4(),
                         agent_key="kk_a_b", start_window_seconds=600)
    start = datetime.now(timezone.utc)
    firsts = []
    for seed in range(200):
        job = Daemon(settings, random.Random(seed)).scheduler.get_job("collect-first")
        firsts.append((job.trigger.run_date - start).total_seconds())
    assert all(-1 <= f <= 601 for f in firsts)
    per_minute = [sum(1 for f in firsts if m * 60 <= f < (m + 1) * 60) for m in range(10)]
    assert min(per_minute) >= 8 and max(per_minute) <= 40
