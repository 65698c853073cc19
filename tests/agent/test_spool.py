"""The spool: atomic writes, oldest first, bounded, rejected reports kept with a reason, persisted backoff, lock."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.spool import AgentLock, LockBusy, Spool, SpoolWriteError, backoff_delay

from .helpers import make_report


def _put(spool: Spool, n: int = 1) -> list[str]:
    ids = []
    for _ in range(n):
        report = make_report()
        spool.put(str(report.report_id), report.model_dump_json().encode())
        ids.append(str(report.report_id))
    return ids


def _ids(paths: list[Path]) -> list[str]:
    return [json.loads(p.read_bytes())["report_id"] for p in paths]


def test_reports_come_back_oldest_first(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    ids = _put(spool, 5)
    assert _ids(spool.pending()) == ids
    spool.remove(spool.pending()[0])
    assert _ids(spool.pending()) == ids[1:]


def test_bounded_by_count_dropping_oldest(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path, max_reports=3)
    ids = _put(spool, 5)
    assert _ids(spool.pending()) == ids[-3:]
    assert "dropped the 1 oldest" in caplog.text


def test_bounded_by_bytes_but_keeps_the_newest(tmp_path: Path) -> None:
    one = len(make_report().model_dump_json())
    spool = Spool(tmp_path, max_reports=100, max_bytes=one * 2 + one // 2)
    ids = _put(spool, 4)
    assert _ids(spool.pending()) == ids[-2:]
    tiny = Spool(tmp_path / "tiny", max_reports=100, max_bytes=10)
    newest = _put(tiny, 2)[-1]
    assert _ids(tiny.pending()) == [newest]  # never drop the report just written


def test_orphaned_temporary_files_are_not_reports_and_are_cleaned(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    ids = _put(spool, 2)
    orphan = spool.queue_dir / ".00000000000000000001-abc.json.tmp"
    orphan.write_bytes(b'{"report_id": "half')
    assert _ids(spool.pending()) == ids
    assert spool.clean_orphans() == 1
    assert not orphan.exists()


def test_set_aside_keeps_the_report_and_the_reason(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    _put(spool, 2)
    first = spool.pending()[0]
    moved = spool.set_aside(first, "HTTP 413: too large")
    assert spool.depth() == 1
    assert moved.parent == spool.rejected_dir and moved.exists()
    assert "HTTP 413: too large" in moved.with_suffix(".reason").read_text(encoding="utf-8")
    assert spool.rejected() == [moved]


def test_write_failure_is_a_spool_write_error(tmp_path: Path) -> None:
    blocker = tmp_path / "spool"
    blocker.write_text("a file where the directory should be", encoding="utf-8")
    with pytest.raises(SpoolWriteError, match="could not write"):
        Spool(blocker).put("id", b"{}")


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    rng = random.Random(7)
    for attempts, ceiling in [(1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (30, 3600)]:
        delays = [backoff_delay(attempts, 60, 3600, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len({round(d, 3) for d in delays}) > 40  # jittered, not one fixed value


def test_retry_state_survives_a_restart(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    _put(spool)
    assert spool.retry_due(now=0)
    state = spool.record_failure("connection: refused", base=10, cap=100, now=1000.0)
    assert state.attempts == 1 and 1005 <= (state.next_attempt_at or 0) <= 1010
    again = Spool(tmp_path)
    assert again.load_retry().attempts == 1 and again.load_retry().last_error == "connection: refused"
    assert not again.retry_due(now=1001.0) and again.retry_due(now=1011.0)
    assert again.record_failure("x", base=10, cap=100, now=2000.0).attempts == 2
    again.record_success()
    assert again.load_retry().attempts == 0 and again.retry_due(now=0)


def test_lock_is_exclusive_within_and_across_processes(tmp_path: Path) -> None:
    lock_path = tmp_path / "agent.lock"
    with AgentLock(lock_path), pytest.raises(LockBusy):
        AgentLock(lock_path).acquire()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from agent.spool import AgentLock; "
         f"lock = AgentLock(Path({str(lock_path)!r})); lock.acquire(); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockBusy):
            AgentLock(lock_path).acquire()
        # A holder killed outright releases the lock: no stale lock file to clean by hand.
        os.kill(holder.pid, signal.SIGKILL if sys.platform != "win32" else signal.SIGTERM)
        holder.wait(timeout=10)
        deadline = time.monotonic() + 10
        while True:
            try:
                with AgentLock(lock_path):
                    break
            except LockBusy:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        holder.kill()
        holder.wait()


def test_order_survives_the_clock_being_set_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = Spool(tmp_path, max_reports=2)
    clock = iter([2_000_000_000_000_000_000, 1_200_000_000_000_000_000, 1_200_000_000_000_000_001])
    monkeypatch.setattr(time, "time_ns", lambda: next(clock))
    ids = _put(spool, 3)
    # The PC's clock went back after the first report; still the first made is the first dropped.
    assert _ids(spool.pending()) == ids[1:]


def test_lock_can_wait_for_its_holder(tmp_path: Path) -> None:
    import threading

    lock_path = tmp_path / "agent.lock"
    holder = AgentLock(lock_path)
    holder.acquire()
    releaser = threading.Timer(0.3, holder.release)
    releaser.start()
    entered = False
    try:
        with AgentLock(lock_path, wait=30):
            entered = True
            with pytest.raises(LockBusy):
                AgentLock(lock_path).acquire()
    finally:
        releaser.join()
    assert entered


def test_old_orphans_beside_the_spool_are_cleaned_recent_ones_kept(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.root.mkdir()
    old = tmp_path / ".state.json.1234abcd.tmp"
    recent = tmp_path / ".schedule.json.5678ef90.tmp"
    old.write_text("{", encoding="utf-8")
    recent.write_text("{", encoding="utf-8")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert spool.clean_orphans(elsewhere=(tmp_path,)) == 1
    assert not old.exists() and recent.exists()
