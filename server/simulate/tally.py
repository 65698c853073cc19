"""What a simulation run counted: answers by kind, and latency percentiles."""

from __future__ import annotations

import statistics
import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Summary:
    """The closing summary of a run (``--json`` prints it as is). Latencies in milliseconds."""

    agents: int
    enrolled: int
    enrolment_refused: int
    sent: int
    accepted: int
    duplicate: int
    refused: int
    errors: int  # no answer or a 5xx: the report is kept and sent again at the machine's next collection
    offline: int  # collections skipped by machines switched off for some days
    retired: int  # machines retired so far
    resent: int  # reports sent again as if their first answer was lost (the server must say duplicate)
    seconds: float
    throughput: float  # answered reports per second
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    refused_by_status: dict[str, int] = field(default_factory=dict)


class Tally:
    """Thread-safe counters of a run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = dict.fromkeys(
            ("enrolled", "enrolment_refused", "sent", "accepted", "duplicate", "refused", "errors", "offline",
             "resent"), 0)
        self.refused_by_status: dict[str, int] = {}
        self.latencies: list[float] = []

    def add(self, name: str, latency: float | None = None, status: int | None = None) -> None:
        """Count one event; ``latency`` in seconds when the server answered."""
        with self._lock:
            self.counts[name] += 1
            if latency is not None:
                self.latencies.append(latency)
            if status is not None:
                key = str(status)
                self.refused_by_status[key] = self.refused_by_status.get(key, 0) + 1

    def snapshot(self) -> dict[str, int]:
        """The counters now (for a progress display)."""
        with self._lock:
            return dict(self.counts)

    def summary(self, agents: int, retired: int, seconds: float) -> Summary:
        """The closing summary."""
        with self._lock:
            c = dict(self.counts)
            lat = sorted(self.latencies)
            by_status = dict(sorted(self.refused_by_status.items()))
        answered = c["accepted"] + c["duplicate"] + c["refused"]
        p50, p95, p99 = percentiles(lat)
        return Summary(
            agents=agents, enrolled=c["enrolled"], enrolment_refused=c["enrolment_refused"], sent=c["sent"],
            accepted=c["accepted"], duplicate=c["duplicate"], refused=c["refused"], errors=c["errors"],
            offline=c["offline"], retired=retired, resent=c["resent"], seconds=round(seconds, 3),
            throughput=round(answered / seconds, 1) if seconds > 0 else 0.0,
            p50_ms=p50, p95_ms=p95, p99_ms=p99, refused_by_status=by_status,
        )


def percentiles(latencies: list[float]) -> tuple[float | None, float | None, float | None]:
    """p50, p95 and p99 of latencies in seconds, as milliseconds; None without data."""
    if not latencies:
        return None, None, None
    if len(latencies) == 1:
        one = round(latencies[0] * 1000, 2)
        return one, one, one
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return tuple(round(cuts[i] * 1000, 2) for i in (49, 94, 98))  # type: ignore[return-value]
