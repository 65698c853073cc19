"""The on-disk queue: every report is written here before it is sent and removed only after the server's 2xx.

Layout under the spool directory::

    queue/<ns-timestamp>-<report_id>.json   waiting, oldest first by name
    queue/.<name>.tmp                       a write in progress; an orphan after a crash, cleaned at next start
    rejected/<name>.json + <name>.reason    refused by the server (413, 422, other 4xx): kept for the officer
    retry.json                              failed attempts and when the next try is due (survives restarts)

A report appears in ``queue/`` only by ``os.replace`` of a fully written and fsynced temporary file, so a kill
at any moment leaves either no report or a whole one. The queue is bounded by count and bytes; the oldest
reports are dropped first, with a warning. ``AgentLock`` keeps two collections or deliveries from running at
once (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import IO

from agent.config import atomic_write, fsync_dir, replace_file

log = logging.getLogger("kiemke.agent")

#: Crash tests set this to a fault point name; the agent then stops there and waits to be killed.
FAULT_ENV = "KIEMKE_AGENT_FAULT"
REJECTED_KEEP = 100


class SpoolWriteError(RuntimeError):
    """A report could not be written to the spool (disk full, permissions): it is lost unless sent now."""


class LockBusy(RuntimeError):
    """Another collection or delivery holds the agent lock."""


def fault_point(name: str, marker_dir: Path) -> None:
    """Stop here when ``KIEMKE_AGENT_FAULT`` names this point, so a crash test can SIGKILL the process.

    The marker file tells the test the process has reached the point; it never returns in that case unless
    nobody kills it within two minutes. Costs one environment lookup otherwise.
    """
    if os.environ.get(FAULT_ENV) != name:
        return
    (marker_dir / f"fault-{name}").write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(120)


def backoff_delay(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after ``attempts`` consecutive failures: doubling from ``base`` up to ``cap``, jittered.

    The jitter takes the delay at random between half and all of the ceiling, so agents that lost the
    server together do not come back together.
    """
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


class AgentLock:
    """An exclusive, non-blocking lock on a file; released when the process dies, even by SIGKILL."""

    def __init__(self, path: Path, wait: float = 0.0) -> None:
        self.path = path
        self.wait = wait
        self._handle: IO[bytes] | None = None

    @staticmethod
    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            if sys.platform == "win32":
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def acquire(self) -> None:
        """Take the lock, waiting up to ``wait`` seconds for its holder to finish; LockBusy otherwise."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+b")  # noqa: SIM115 - held open for the life of the lock
        deadline = time.monotonic() + self.wait
        while not self._try_lock(handle):
            if time.monotonic() >= deadline:
                handle.close()
                raise LockBusy(f"another kiemke-agent collection or delivery is running ({self.path})")
            time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()).encode())
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Let go of the lock."""
        if self._handle is None:
            return
        if sys.platform == "win32":
            import msvcrt

            self._handle.seek(0)
            msvcrt.locking(self._handle.fileno(), msvcrt.LK_UNLCK, 1)
        # On POSIX closing the descriptor drops the flock.
        self._handle.close()
        self._handle = None

    def __enter__(self) -> AgentLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


@dataclass
class RetryState:
    """Consecutive failed delivery rounds and when the next one is due (epoch seconds)."""

    attempts: int = 0
    next_attempt_at: float | None = None
    last_error: str | None = None


class Spool:
    """The queue directory; call ``clean_orphans`` while holding the agent lock, before anything else."""

    def __init__(self, root: Path, max_reports: int = 500, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.root = root
        self.queue_dir = root / "queue"
        self.rejected_dir = root / "rejected"
        self.retry_path = root / "retry.json"
        self.max_reports = max_reports
        self.max_bytes = max_bytes

    def pending(self) -> list[Path]:
        """Reports waiting, oldest first; temporary files are not reports."""
        try:
            names = [entry.name for entry in os.scandir(self.queue_dir) if entry.is_file()]
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [self.queue_dir / n for n in sorted(names) if n.endswith(".json") and not n.startswith(".")]

    def depth(self) -> int:
        """How many reports wait."""
        return len(self.pending())

    def rejected(self) -> list[Path]:
        """Reports the server refused, oldest first."""
        if not self.rejected_dir.is_dir():
            return []
        return sorted(p for p in self.rejected_dir.iterdir() if p.suffix == ".json")

    def clean_orphans(self, elsewhere: tuple[Path, ...] = (), min_age: float = 600.0) -> int:
        """Delete temporary files left by a process killed mid-write; returns how many.

        In the queue (written only under the agent lock, which the caller holds) every one is an orphan. In
        ``elsewhere`` (the data directory, where the daemon writes its schedule without the lock) only
        those older than ``min_age`` seconds are, so a write in progress is never pulled from under it.
        """
        count = 0
        if self.queue_dir.is_dir():
            for path in self.queue_dir.glob(".*.tmp"):
                path.unlink(missing_ok=True)
                count += 1
        cutoff = time.time() - min_age
        for folder in (self.root, *elsewhere):
            if not folder.is_dir():
                continue
            for path in folder.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        count += 1
        if count:
            log.info("removed %d unfinished spool write(s) left by an interrupted run", count)
        return count

    def _next_sequence(self) -> int:
        """The clock in ns, but never below the newest waiting report's: order survives a clock set back.

        Office PCs with a flat CMOS battery boot in 2009 and are corrected later; the queue must stay in the
        order the reports were made, or "oldest first" would send, and drop, the wrong ones.
        """
        now = time.time_ns()
        pending = self.pending()
        if pending:
            with contextlib.suppress(ValueError):
                now = max(now, int(pending[-1].name.split("-", 1)[0]) + 1)
        return now

    def put(self, report_id: str, body: bytes) -> tuple[Path, list[Path]]:
        """Store a report atomically; returns its path and the oldest reports dropped to stay within bounds."""
        name = f"{self._next_sequence():020d}-{report_id}.json"
        final = self.queue_dir / name
        tmp = self.queue_dir / f".{name}.tmp"
        try:
            self.queue_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
            with os.fdopen(fd, "wb") as handle:
                half = len(body) // 2
                handle.write(body[:half])
                handle.flush()
                fault_point("spool_write", self.root)
                handle.write(body[half:])
                handle.flush()
                os.fsync(handle.fileno())
            replace_file(tmp, final)
            fsync_dir(self.queue_dir)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise SpoolWriteError(f"could not write the report to {self.queue_dir}: {exc.strerror or exc}") from exc
        return final, self.trim(keep=final)

    def trim(self, keep: Path | None = None) -> list[Path]:
        """Drop the oldest reports until the queue is within its count and byte bounds; never drops ``keep``."""
        sized: list[tuple[Path, int]] = []
        for path in self.pending():
            try:
                sized.append((path, path.stat().st_size))
            except FileNotFoundError:
                continue
        total = sum(size for _, size in sized)
        dropped: list[Path] = []
        for path, size in sized:
            if len(sized) - len(dropped) <= self.max_reports and total <= self.max_bytes:
                break
            if path == keep:
                continue
            path.unlink(missing_ok=True)
            total -= size
            dropped.append(path)
        if dropped:
            log.warning(
                "spool full (%d reports / %d bytes allowed): dropped the %d oldest report(s)",
                self.max_reports, self.max_bytes, len(dropped),
            )
        return dropped

    def remove(self, path: Path) -> None:
        """Forget a report the server has."""
        path.unlink(missing_ok=True)

    def set_aside(self, path: Path, reason: str) -> Path:
        """Move a report the server will never accept to ``rejected/`` with a file saying why."""
        self.rejected_dir.mkdir(parents=True, exist_ok=True)
        target = self.rejected_dir / path.name
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        atomic_write(target.with_suffix(".reason"), f"{stamp} {reason}\n".encode())
        replace_file(path, target)
        log.warning("the server refused report %s; set aside in %s: %s", path.name, self.rejected_dir, reason)
        for old in self.rejected()[:-REJECTED_KEEP]:
            old.unlink(missing_ok=True)
            old.with_suffix(".reason").unlink(missing_ok=True)
        return target

    def load_retry(self) -> RetryState:
        """The persisted retry state; a fresh one when absent or unreadable."""
        try:
            raw = json.loads(self.retry_path.read_text(encoding="utf-8"))
            return RetryState(
                attempts=int(raw.get("attempts", 0)),
                next_attempt_at=raw.get("next_attempt_at"),
                last_error=raw.get("last_error"),
            )
        except (OSError, ValueError, AttributeError, TypeError):
            return RetryState()

    def save_retry(self, state: RetryState) -> None:
        """Persist the retry state atomically."""
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write(self.retry_path, json.dumps(asdict(state)).encode("utf-8"))

    def record_failure(
        self, detail: str, base: float, cap: float, now: float | None = None, rng: random.Random | None = None
    ) -> RetryState:
        """One more failed round: back off further and persist it."""
        state = self.load_retry()
        state.attempts += 1
        state.last_error = detail
        state.next_attempt_at = (now if now is not None else time.time()) + backoff_delay(
            state.attempts, base, cap, rng
        )
        self.save_retry(state)
        return state

    def record_success(self) -> None:
        """The server answered: reset the backoff."""
        if self.retry_path.exists():
            self.save_retry(RetryState())

    def retry_due(self, now: float | None = None) -> bool:
        """True when reports wait and the backoff has passed."""
        if not self.pending():
            return False
        state = self.load_retry()
        return state.next_attempt_at is None or (now if now is not None else time.time()) >= state.next_attempt_at
