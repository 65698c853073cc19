"""Group commit for the API: reports arriving together are written in one transaction.

A commit is the dearest part of ingesting a report (a WAL flush on PostgreSQL, the write lock on SQLite).
A writer takes whatever reports are waiting, up to ``max_batch``, and ingests them in one transaction: on
SQLite it runs on the event loop between reads of requests (its statements are short C calls, and a second
thread would hand the GIL back and forth on every one of them); on PostgreSQL two threads overlap the
round trips and WAL flushes, and a batch costs three round trips whatever its size: its agents and devices
are read in one query, and the writes of its routine reports go out in one ``executemany`` per statement
shape.

The first pass assumes every report succeeds or fails before writing (an unknown key, a duplicate of a
known device): that costs no savepoints. When a report fails after it wrote something, the transaction is
rolled back and the batch runs again with each report in its own savepoint, so the failed one leaves
nothing half-written and its neighbours still commit. Every caller is answered only after the commit, so
an accepted report is durable. If the commit itself fails, every report of the batch fails and its agent
retries (ingest is idempotent).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Engine

from server.db import write_lock, writer
from server.services.ingest import (
    Delivery,
    DuplicateReport,
    ForeignMachine,
    IngestResult,
    ingest,
    is_conflict,
    is_database_error,
    is_transient,
)
from server.services.ingest_sql import DEFER, PREFETCH, Deferred, flush, prefetch, run
from shared.schema import InventoryReport

Authorize = Callable[[Connection], Delivery]


@dataclass
class _Job:
    report: InventoryReport
    authorize: Authorize
    future: Future[IngestResult] | asyncio.Future[IngestResult]
    hint: tuple[uuid.UUID, str] | None = None  # (agent id, machine id) to look up with the whole batch


_STOP: Any = object()


class IngestWriter:
    """Writer threads that ingest queued reports in batches."""

    def __init__(self, engine: Engine, *, writers: int | None = None, max_batch: int = 64,
                 inline: bool | None = None) -> None:
        self.engine = engine
        # SQLite has one writer at a time anyway; on PostgreSQL two overlap their round trips and WAL flushes
        # (more only added GIL contention on the two-core machine we measured on).
        self.writers = writers or (1 if engine.dialect.name == "sqlite" else 2)
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        # SQLite work is short C calls: on the event loop thread it needs no GIL hand-over per statement.
        self.inline = engine.dialect.name == "sqlite" if inline is None else inline
        self._pending: list[_Job] = []
        self._drain_scheduled = False

    def start(self) -> None:
        """Start the writer threads (idempotent)."""
        with self._lock:
            if self._threads:
                return
            for n in range(self.writers):
                thread = threading.Thread(target=self._loop, name=f"ingest-writer-{n}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        """Finish queued work and stop the threads."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(_STOP)
        for thread in threads:
            thread.join(timeout=30)

    def submit(self, report: InventoryReport, authorize: Authorize,
               hint: tuple[uuid.UUID, str] | None = None) -> Future[IngestResult]:
        """Queue a report; the future holds its result once committed, or the error that refused it.

        ``hint`` (agent id, machine id) lets the writer look the batch's agents and devices up at once.
        """
        self.start()
        future: Future[IngestResult] = Future()
        self._queue.put(_Job(report, authorize, future, hint))
        return future

    async def ingest(self, report: InventoryReport, authorize: Authorize,
                     hint: tuple[uuid.UUID, str] | None = None) -> IngestResult:
        """Ingest a report from a coroutine; the writing happens in a batch with its neighbours."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestResult] = loop.create_future()
        job = _Job(report, authorize, future, hint)
        if not self.inline:
            self.start()
            self._queue.put(job)
        else:
            self._pending.append(job)
            if not self._drain_scheduled:
                self._drain_scheduled = True
                loop.call_soon(self._drain)
        return await future

    def _drain(self) -> None:
        # Runs on the event loop: requests that arrived meanwhile are parsed before the next batch.
        batch = self._pending[: self.max_batch]
        del self._pending[: self.max_batch]
        self._write(batch)
        if self._pending:
            asyncio.get_running_loop().call_soon(self._drain)
        else:
            self._drain_scheduled = False

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    self._queue.put(_STOP)  # for this thread's next turn
                    break
                batch.append(job)
            self._write(batch)

    def _write(self, batch: list[_Job]) -> None:
        # The same order in every process makes row locks less likely to deadlock between batches.
        batch.sort(key=lambda job: job.report.machine_id)
        careful = False
        for attempt in range(5):
            outcomes: list[IngestResult | BaseException] = []
            try:
                with write_lock(self.engine), writer(self.engine).begin() as conn:
                    if careful:
                        outcomes = [_one_in_savepoint(conn, job, first=n == 0) for n, job in enumerate(batch)]
                    else:
                        try:
                            prefetch(conn, [job.hint for job in batch if job.hint is not None])
                            outcomes = _fast(conn, batch)
                        finally:
                            conn.info.pop(PREFETCH, None)
                            conn.info.pop(DEFER, None)
            except _Careful:
                careful = True
                continue
            except Exception as exc:  # a deadlock to retry, or a failed commit: nobody's report is stored
                if attempt < 4 and is_transient(exc):
                    continue
                outcomes = [exc] * len(batch)
            _settle(batch, outcomes, inline=self.inline)
            return


def _settle(batch: list[_Job], outcomes: list[IngestResult | BaseException], *, inline: bool) -> None:
    """Hand each caller its outcome; coroutines' futures in one hop to their loop per batch."""
    waiting: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[IngestResult], object]]] = {}
    for job, outcome in zip(batch, outcomes, strict=True):
        if isinstance(job.future, asyncio.Future):
            waiting.setdefault(job.future.get_loop(), []).append((job.future, outcome))
        elif isinstance(outcome, BaseException):
            job.future.set_exception(outcome)
        else:
            job.future.set_result(outcome)
    for loop, pairs in waiting.items():
        if inline:
            _resolve(pairs)
        else:
            # One wake-up of the event loop for the whole batch rather than one per report.
            loop.call_soon_threadsafe(_resolve, pairs)


def _resolve(pairs: list[tuple[asyncio.Future[IngestResult], object]]) -> None:
    for future, outcome in pairs:
        if future.cancelled():  # the client went away; its report is stored all the same
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)  # type: ignore[arg-type]


def _fast(conn: Connection, batch: list[_Job]) -> list[IngestResult | BaseException]:
    """The batch without savepoints; on PostgreSQL routine writes go out in one ``executemany`` per shape."""
    deferred: list[Deferred] = []
    if conn.dialect.name == "postgresql":
        conn.info[DEFER] = deferred
    outcomes: list[IngestResult | BaseException] = []
    owners: list[tuple[int, Deferred]] = []
    machines: set[str] = set()
    flushed = 0
    for job in batch:
        if job.report.machine_id in machines:  # it must read what the earlier report of its machine wrote
            _flush(conn, deferred[flushed:])
            flushed, machines = len(deferred), set()
        machines.add(job.report.machine_id)
        before = len(deferred)
        outcome = _one(conn, job)
        if len(deferred) > before:
            owners.append((len(outcomes), deferred[-1]))
        outcomes.append(outcome)
    _flush(conn, deferred[flushed:])
    for index, item in owners:
        accepted = outcomes[index]
        if item.recorded is False and isinstance(accepted, IngestResult):
            # Recorded meanwhile by another process: nothing of it was written here.
            outcomes[index] = IngestResult("duplicate", accepted.report_id, accepted.device_id)
    return outcomes


def _flush(conn: Connection, deferred: list[Deferred]) -> None:
    try:
        flush(conn, deferred)
    except Exception as exc:
        if is_transient(exc):
            raise
        raise _Careful from exc  # which report failed is unknown: find out one savepoint at a time


class _Careful(Exception):
    """A report failed after writing: run the batch again with a savepoint per report."""


def _one(conn: Connection, job: _Job) -> IngestResult | BaseException:
    """Ingest one report without a savepoint; _Careful when its failure left writes behind."""
    try:
        delivery = job.authorize(conn)
    except Exception as exc:
        if is_transient(exc):
            raise
        if is_database_error(exc):
            raise _Careful from exc  # a failed statement may have spoiled the transaction
        return exc  # refused before writing anything (unknown key)
    try:
        return ingest(conn, job.report, delivery)
    except ForeignMachine as exc:
        return exc  # refused before writing anything
    except DuplicateReport as dup:
        if dup.wrote:
            raise _Careful from dup
        return IngestResult("duplicate", job.report.report_id, dup.device_id)
    except Exception as exc:
        if is_transient(exc):
            raise
        raise _Careful from exc


def _savepoint(conn: Connection, first: bool) -> None:
    """Start this report's savepoint, releasing the previous report's one."""
    if first:
        run(conn, "SAVEPOINT report")
    elif conn.dialect.name == "sqlite":
        run(conn, "RELEASE SAVEPOINT report")
        run(conn, "SAVEPOINT report")
    else:
        run(conn, "RELEASE SAVEPOINT report; SAVEPOINT report")  # one round trip (no parameters)


def _one_in_savepoint(conn: Connection, job: _Job, *, first: bool) -> IngestResult | BaseException:
    """Ingest one report inside a savepoint; its error is returned, not raised."""
    for attempt in range(3):
        _savepoint(conn, first and attempt == 0)
        try:
            result = ingest(conn, job.report, job.authorize(conn))
        except DuplicateReport as dup:
            run(conn, "ROLLBACK TO SAVEPOINT report")
            result = IngestResult("duplicate", job.report.report_id, dup.device_id)
        except Exception as exc:
            if is_transient(exc):
                raise  # locks held by earlier reports of the batch are in the way: retry the batch
            run(conn, "ROLLBACK TO SAVEPOINT report")
            if is_conflict(exc) and attempt < 2:
                continue  # another process created this machine's device meanwhile: the retry finds it
            return exc
        return result  # its savepoint is released by the next report's, or by the commit
    raise AssertionError("unreachable")
