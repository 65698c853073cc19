"""Factories of snapshot state for the pure policy tests: a device is one call with only what the test needs."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any

from server.services.state import AntivirusState, DeviceState, UnitState

AS_OF = date(2024, 5, 18)  # the cut-off date of the district's report


def at(day: date, hour: int = 9) -> datetime:
    """A UTC instant on ``day``."""
    return datetime.combine(day, time(hour), tzinfo=timezone.utc)


def av(name: str = "Windows Defender", *, enabled: bool | None = True, up_to_date: bool | None = True,
       updated: date | None = date(2024, 5, 17), source: str = "security_center",
       licence_problem: bool | None = None) -> AntivirusState:
    """One antivirus product as a report shows it."""
    return AntivirusState(name=name, enabled=enabled, up_to_date=up_to_date,
                          signatures_updated_at=at(updated) if updated else None, source=source,
                          licence_problem=licence_problem)


def pc(device_id: int, unit: str = "P1", **facts: Any) -> DeviceState:
    """A desktop in use with an agent that reported on the cut-off day, healthy unless told otherwise."""
    values: dict[str, Any] = {
        "kind": "desktop",
        "has_agent": True,
        "first_seen": at(date(2024, 1, 2)),
        "last_seen": at(AS_OF),
        "reports_received": 10,
        "cpu_model": "Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz",
        "earliest_bios_date": date(2020, 9, 1),
        "bios_date": date(2020, 9, 1),
        "os_name": "Microsoft Windows 10 Pro",
        "os_version": "10.0.19045",
        "antivirus": (av(),),
        "firewall_enabled": True,
        "internet_reachable": True,
    }
    values.update(facts)
    return DeviceState(id=device_id, unit_code=unit, **values)


def asset(device_id: int, unit: str, kind: str, **facts: Any) -> DeviceState:
    """A hand-entered asset without an agent."""
    return DeviceState(id=device_id, unit_code=unit, kind=kind, **facts)  # type: ignore[arg-type]


def unit(code: str, kind: str = "department", parent: str | None = "D", **facts: Any) -> UnitState:
    """A unit under the district root unless told otherwise."""
    return UnitState(code=code, name=facts.pop("name", code), kind=kind, parent_code=parent, **facts)  # type: ignore[arg-type]
