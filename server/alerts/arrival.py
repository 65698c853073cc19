"""Evaluate the devices of accepted reports right after their commit, off the request's path.

``AlertQueue.submit(device_id, stored)`` is all the ingest path does (a set insert); a worker thread takes every
queued device at once and evaluates them in one read (and one write only when an alert opens or resolves),
so a burst of reports costs one evaluation, and an agent never waits for it. A report that stored nothing
(the same facts as before) can only end a silence: such a device is evaluated only when it has a live
``not_seen`` alert. What time alone changes (signatures ageing, a silence beginning) the scheduled evaluation
finds.
"""

from __future__ import annotations

import logging
import threading
from datetime import tzinfo

from sqlalchemy.engine import Engine

from server.alerts.evaluate import evaluate_devices, silent_devices
from server.alerts.store import Changes
from server.services.policy import Policy

log = logging.getLogger(__name__)


class AlertQueue:
    """Devices waiting for their local rules to be evaluated."""

    def __init__(self, engine: Engine, policy: Policy, tz: tzinfo) -> None:
        self.engine, self.policy, self.tz = engine, policy, tz
        self._pending: set[int] = set()  # a report stored new facts: every local rule
        self._seen: set[int] = set()  # the same facts again: only the silence is over
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def submit(self, device_id: int | None, stored: bool = True) -> None:
        """Queue a device whose report was just accepted (``stored``: it added an observation)."""
        if device_id is None:
            return
        with self._lock:
            (self._pending if stored else self._seen).add(device_id)
        self._wake.set()

    def drain(self) -> Changes:
        """Evaluate every queued device now, in the caller's thread (the worker, a test, shutdown)."""
        with self._lock:
            ids, self._pending = self._pending, set()
            seen, self._seen = self._seen - ids, set()
        if seen:  # the same facts again: evaluated only when the device had been silent (a cheap read)
            ids |= set(silent_devices(self.engine, seen))
        if not ids:
            return Changes()
        return evaluate_devices(self.engine, self.policy, self.tz, sorted(ids))

    def start(self) -> None:
        """Run the worker thread (the app's start-up)."""
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="kiemke-alerts", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Evaluate what is queued and stop the worker (the app's shutdown)."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                self.drain()
            except Exception:  # the next report or the scheduled evaluation tries again
                log.exception("alert evaluation after reports failed")
            if self._stopping:
                return
