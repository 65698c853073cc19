"""Everything the device page shows about one asset as of a date, read from its snapshot row and its history.

The verdicts (age, issues) are the coverage's own assessment, never recomputed here; this module adds what
the figures do not need: the latest report's full facts (disks, interfaces, firewall profiles, peripherals),
each piece of age evidence, the agent's key, and a timeline of what changed, from which report or whose edit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.console.timeline import Change, History, aware, device_history
from server.models import Agent, table_of
from server.report.numbers import Lang, format_date
from server.services.compliance import os_supported, signature_freshness
from server.services.cpu_generations import launch_year
from server.services.figure import Assessment
from server.services.history import end_of_day
from server.services.policy import Policy
from server.services.state import DeviceState, Snapshot
from server.vocab import COMPUTER_KINDS

#: How many changes a page of the timeline shows, newest first (older ones on the next pages).
TIMELINE_LIMIT = 50


@dataclass(frozen=True)
class Evidence:
    """One way the device's age could be known, with its date (or year) and whether it decided."""

    source: str
    value: date | int | None
    decided: bool


@dataclass(frozen=True)
class Check:
    """One compliance check: ``ok`` True/False, or None when the fact is unknown; the issue when it failed."""

    name: str
    ok: bool | None
    issue: str | None = None


@dataclass(frozen=True)
class AgentKey:
    """An agent enrolled for the device."""

    created_at: datetime
    last_seen: datetime | None
    revoked_at: datetime | None
    offline: bool


@dataclass(frozen=True)
class DeviceDetail:
    """The device page's content."""

    state: DeviceState
    assessment: Assessment
    unit_name: str
    facts: Mapping[str, Any]  # the latest report as of the date (empty for hand-entered assets); read only
    os_supported: bool | None
    evidence: tuple[Evidence, ...]
    checks: tuple[Check, ...]
    freshness: dict[str, str]  # antivirus product name -> current / stale / unknown
    monitors: tuple[DeviceState, ...]
    host: DeviceState | None
    agents: tuple[AgentKey, ...]
    timeline: tuple[Change, ...]
    timeline_page: int = 1
    timeline_more: bool = False  # older changes are on the next page
    #: The timeline's page rendered, by language and time zone: kept with the history while it is kept.
    rendered: dict[Hashable, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_computer(self) -> bool:
        """Computers carry agents and compliance checks."""
        return self.state.kind in COMPUTER_KINDS


def local_time(value: datetime, tz: tzinfo, lang: Lang) -> str:
    """An instant as the district's local date and time, in the language's date order."""
    local = value.astimezone(tz)
    return f"{_day(local.date(), lang)} {local.hour:02d}:{local.minute:02d}"  # strftime costs 5x more


@functools.lru_cache(maxsize=4096)
def _day(day: date, lang: Lang) -> str:
    return format_date(day, lang)  # Babel's formatting costs more than the rest of a timeline's line


def age_evidence(device: DeviceState, decided: str) -> tuple[Evidence, ...]:
    """Every piece of age evidence the device has, best first, marking the one the age policy chose."""
    pieces: list[tuple[str, date | int | None]] = [
        ("purchase_record", device.purchased_on),
        ("firmware", device.earliest_bios_date or device.bios_date),
        ("cpu_generation", launch_year(device.cpu_model)),
        ("os_install", device.os_install_date),
        ("edid", device.monitor_year),
    ]
    return tuple(Evidence(source, value, source == decided) for source, value in pieces if value is not None)


def compliance_checks(device: DeviceState, issues: tuple[str, ...], supported: bool | None) -> tuple[Check, ...]:
    """The checks of a computer in the order of the figures, each with the issue that failed it."""
    if device.kind not in COMPUTER_KINDS:
        return ()

    def check(name: str, failing: tuple[str, ...], unknown: bool = False) -> Check:
        failed = next((i for i in failing if i in issues), None)
        return Check(name, None if failed is None and unknown else failed is None, failed)

    if "no_agent" in issues:
        return (Check("agent", False, "no_agent"),)
    return (
        check("agent", ("no_agent",)),
        check("air_gap", ("air_gap_violation",)),
        check("antivirus", ("no_antivirus", "antivirus_disabled", "antivirus_out_of_date",
                            "antivirus_update_unknown")),
        check("licence", ("antivirus_unlicensed",), unknown=not device.antivirus),
        check("firewall", ("firewall_off",), unknown=device.firewall_enabled is None),
        check("os", ("os_unsupported",), unknown=supported is None),
        check("reporting", ("not_seen_recently",)),
    )


def load_detail(session: Session, snapshot: Snapshot, assessments: dict[int, Assessment], device_id: int,
                unit_names: dict[str, str], tz: tzinfo, policy: Policy, *,
                by_id: Mapping[int, DeviceState] | None = None,
                monitors: Callable[[int], tuple[DeviceState, ...]] | None = None,
                timeline_page: int = 1,
                kept: Callable[[tuple[Any, ...], Callable[[], History]], History] | None = None,
                ) -> DeviceDetail | None:
    """The page of ``device_id`` as of the snapshot's date; None when the snapshot's scope does not hold it.

    ``by_id`` (the snapshot's devices by id) and ``monitors`` (a computer's attached monitors) save a pass
    over the snapshot when the caller keeps them. ``timeline_page``: which ``TIMELINE_LIMIT`` changes to show.
    ``kept``: where a computed history is kept (the console's cache, its key completed with the data version);
    with it, the timeline and the latest report are read again only when the data change.
    """
    if by_id is None:
        by_id = {d.id: d for d in snapshot.devices}
    state = by_id.get(device_id)
    if state is None or device_id not in assessments:
        return None
    assessment = assessments[device_id]
    cutoff = end_of_day(snapshot.as_of, tz)
    a = table_of(Agent).c
    conn = session.connection()
    agents = tuple(  # not kept with the history: a heartbeat moves last_seen without a new data version
        AgentKey(aware(r.created_at) or cutoff, aware(r.last_seen), aware(r.revoked_at), r.offline)
        for r in conn.execute(sa.select(a.created_at, a.last_seen, a.revoked_at, a.offline)
                              .where(a.device_id == device_id, a.created_at < cutoff).order_by(a.created_at))
    )
    end = timeline_page * TIMELINE_LIMIT

    def build() -> History:
        return device_history(conn, device_id, cutoff, end)

    history = build() if kept is None else kept((str(conn.engine.url), device_id, cutoff, end), build)
    supported = os_supported(state.os_name, state.os_version, state.os_build, snapshot.as_of) \
        if state.os_name else None
    return DeviceDetail(
        state=state,
        assessment=assessment,
        unit_name=unit_names.get(state.unit_code, state.unit_code),
        facts=history.latest,
        os_supported=supported,
        evidence=age_evidence(state, assessment.age_source),
        checks=compliance_checks(state, assessment.issues, supported),
        freshness={p.name: signature_freshness(p, snapshot.as_of, policy) for p in state.antivirus},
        monitors=monitors(device_id) if monitors is not None else tuple(
            d for d in snapshot.devices if d.host_id == device_id),
        host=by_id.get(state.host_id) if state.host_id is not None else None,
        agents=agents,
        timeline=history.changes[end - TIMELINE_LIMIT:end],
        timeline_page=timeline_page,
        timeline_more=history.more,
        rendered=history.rendered,
    )
