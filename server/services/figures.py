"""THE path to the figures as of a cut-off date: snapshot, then policy, then coverage.

The command line (``figures``, ``devices``), the report (``report.generate``), the console's pages and the
benchmarks all come through ``figures_as_of``, so none of them can assemble the three differently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Any, TypeVar, cast

from sqlmodel import Session

from server.config import report_timezone
from server.services.coverage import coverage_for
from server.services.figure import Coverage
from server.services.history import snapshot
from server.services.policy import Policy
from server.services.state import DeviceState, Snapshot

T = TypeVar("T")


class UnknownUnit(LookupError):
    """The unit code did not exist on the cut-off date."""

    def __init__(self, unit_code: str | None, as_of: date) -> None:
        super().__init__(f"unit {unit_code!r} is not in the inventory as of {as_of.isoformat()}")
        self.unit_code = unit_code
        self.as_of = as_of


@dataclass(frozen=True)
class Figures:
    """A scope's figures as of a date, with what they were computed from."""

    snapshot: Snapshot  # the whole tree at the end of the day
    coverage: Coverage  # the scope's figures
    policy: Policy  # the policy that judged them
    tz: tzinfo  # the district's zone: dates shown to a person are local dates
    _derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, compare=False, repr=False)  # a build may derive

    def derived(self, name: str, build: Callable[[], T]) -> T:
        """``build()`` made once for these figures and kept with them (it must depend on nothing else): what
        pages and the read API derive (an index of the devices, the wording) while the data stand still."""
        with self._lock:
            if name not in self._derived:
                self._derived[name] = build()
            return cast(T, self._derived[name])

    @property
    def by_id(self) -> dict[int, DeviceState]:
        """The snapshot's devices by id."""
        return self.derived("by_id", lambda: {d.id: d for d in self.snapshot.devices})

    def monitors_of(self, device_id: int) -> tuple[DeviceState, ...]:
        """The monitors attached to a computer, in id order."""
        def build() -> dict[int, tuple[DeviceState, ...]]:
            hosts: dict[int, list[DeviceState]] = {}
            for d in self.snapshot.devices:
                if d.host_id is not None:
                    hosts.setdefault(d.host_id, []).append(d)
            return {host: tuple(found) for host, found in hosts.items()}

        return self.derived("monitors", build).get(device_id, ())


def figures_as_of(session: Session, as_of: date, unit_code: str | None = None, *, policy: Policy | None = None,
                  tz: tzinfo | None = None) -> Figures:
    """Every figure of ``unit_code``'s scope (None: the district) at the end of ``as_of``.

    The whole tree is rebuilt even for one unit: licence seats are allotted across the district, so a unit's
    figures read the same alone as in the district's own table. ``policy`` defaults to the built-in one and
    ``tz`` to ``KIEMKE_TIMEZONE``. ``UnknownUnit`` when the unit did not exist on ``as_of``.
    """
    zone = tz or report_timezone()
    return figures_of(snapshot(session, as_of, tz=zone), as_of, unit_code, policy=policy or Policy(), tz=zone)


def figures_of(snap: Snapshot, as_of: date, unit_code: str | None, *, policy: Policy, tz: tzinfo) -> Figures:
    """A scope's figures over the whole tree's snapshot of ``as_of``, already made (the console keeps one
    snapshot per day for every scope); ``UnknownUnit`` when the unit is not in it."""
    try:
        coverage = coverage_for(snap, policy, unit_code)
    except KeyError:
        raise UnknownUnit(unit_code, as_of) from None
    return Figures(snap, coverage, policy, tz)
