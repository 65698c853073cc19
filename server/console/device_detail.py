"""Everything the device page shows about one asset as of a date, read from its snapshot row and its history.

The verdicts (age, issues) are the coverage's own assessment, never recomputed here; this module adds what
the figures do not need: the latest report's full facts (disks, interfaces, firewall profiles, peripherals),
each piece of age evidence, the agent's key, and a timeline of what changed, from which report or whose edit.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.db import reading
from server.models import Agent, AuditLog, DeviceVersion, Observation, OrgUnit, table_of
from server.report.numbers import Lang, format_date
from server.services.compliance import os_supported, signature_freshness
from server.services.cpu_generations import launch_year
from server.services.figure import Assessment
from server.services.history import end_of_day
from server.services.policy import Policy
from server.services.records import DEVICE_FIELDS
from server.services.state import DeviceState, Snapshot
from server.vocab import COMPUTER_KINDS

#: How many changes a page of the timeline shows, newest first (older ones on the next pages).
TIMELINE_LIMIT = 50
#: Audit actions whose entry tells who made a device version.
_EDIT_ACTIONS = ("device.edit", "device.create", "assets.import")


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
class Change:
    """A point of the timeline: when, from a report or a hand edit (by whom), and ``(field, old, new)``."""

    at: datetime
    origin: str  # "report", "edit", "create", "import"
    actor: str | None
    fields: tuple[tuple[str, str, str], ...]


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
    facts: dict[str, Any]  # the latest report as of the date (empty for hand-entered assets)
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

    @property
    def is_computer(self) -> bool:
        """Computers carry agents and compliance checks."""
        return self.state.kind in COMPUTER_KINDS


def local_time(value: datetime, tz: tzinfo, lang: Lang) -> str:
    """An instant as the district's local date and time, in the language's date order."""
    local = value.astimezone(tz)
    return f"{_day(local.date(), lang)} {local:%H:%M}"


@functools.lru_cache(maxsize=4096)
def _day(day: date, lang: Lang) -> str:
    return format_date(day, lang)  # Babel's formatting costs more than the rest of a timeline's line


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


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


def _summary(facts: dict[str, Any]) -> dict[str, str]:
    """The facts of a report a person follows over time, as text (what the timeline compares)."""
    hw, os_, fw = facts.get("hardware") or {}, facts.get("os") or {}, facts.get("firewall") or {}
    interfaces = (facts.get("network") or {}).get("interfaces") or []
    monitors = (facts.get("peripherals") or {}).get("monitors") or []
    ram = hw.get("ram_bytes")
    return {
        "hostname": facts.get("hostname") or "",
        "os": " ".join(str(p) for p in (os_.get("name"), os_.get("version"), os_.get("build")) if p),
        "cpu": hw.get("cpu_model") or "",
        "ram": f"{ram / 2**30:.0f} GB" if isinstance(ram, int) else "",
        "bios": str(hw.get("bios_date") or ""),
        "antivirus": ", ".join(sorted(str(p.get("name")) + ("" if p.get("enabled") else " (off)")
                                      for p in facts.get("antivirus") or [])),
        "firewall": {True: "on", False: "off", None: ""}[fw.get("enabled")],
        "ipv4": ", ".join(sorted(ip for i in interfaces for ip in i.get("ipv4") or [])),
        "mac": ", ".join(sorted(i["mac"] for i in interfaces if i.get("mac"))),
        "monitors": ", ".join(sorted(" ".join(str(p) for p in (m.get("manufacturer"), m.get("model")) if p)
                                     for m in monitors)),
        "agent_version": facts.get("agent_version") or "",
    }


def _diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        return value.isoformat() if isinstance(value, date) else str(value)

    return tuple((k, text(old.get(k)), text(new.get(k))) for k in new if text(old.get(k)) != text(new.get(k)))


def _report_changes(conn: sa.Connection, device_id: int, cutoff: datetime, wanted: int) -> tuple[list[Change], bool]:
    """What the newest ``wanted`` reports changed, each against the one before; True when older ones exist."""
    o = table_of(Observation).c
    rows = conn.execute(
        sa.select(o.observed_at, o.facts).where(o.device_id == device_id, o.observed_at < cutoff)
        .order_by(o.observed_at.desc(), o.id.desc()).limit(wanted + 1)
    ).all()
    summaries = [(_aware(r.observed_at), _summary(json.loads(r.facts))) for r in reversed(rows)]
    out = []
    previous: dict[str, str] = {}
    for index, (at, summary) in enumerate(summaries):
        fields = _diff(previous, summary)
        previous = summary
        if index == 0 and len(rows) > wanted:
            continue  # only the base the next one is compared with
        if fields and at is not None:
            out.append(Change(at, "report", None, fields))
    return out, len(rows) > wanted


def _version_changes(conn: sa.Connection, device_id: int, cutoff: datetime) -> list[Change]:
    v, log = table_of(DeviceVersion).c, table_of(AuditLog).c
    rows = conn.execute(
        sa.select(table_of(DeviceVersion)).where(v.device_id == device_id, v.valid_from < cutoff)
        .order_by(v.valid_from)
    ).all()
    if not rows:
        return []
    codes = dict(conn.execute(sa.select(table_of(OrgUnit).c.id, table_of(OrgUnit).c.code)).all())
    starts = [r.valid_from for r in rows]
    who: dict[datetime | None, tuple[str, str]] = {}
    for entry in conn.execute(sa.select(log.at, log.actor, log.action, log.detail)
                              .where(log.action.in_(_EDIT_ACTIONS), log.at.in_(starts))):
        detail = json.loads(entry.detail)
        if entry.action == "assets.import" or detail.get("device_id") == device_id:
            who[_aware(entry.at)] = (entry.actor, entry.action)
    out = []
    previous: dict[str, Any] = {}
    for row in rows:
        facts = {("unit" if k == "unit_id" else k): (codes.get(getattr(row, k)) if k == "unit_id" else getattr(row, k))
                 for k in DEVICE_FIELDS}
        fields = _diff(previous, facts)
        at = _aware(row.valid_from)
        actor, action = who.get(at, (None, ""))
        origin = {"device.edit": "edit", "device.create": "create", "assets.import": "import"}.get(action, "import")
        if fields and at is not None:
            out.append(Change(at, origin, actor, fields))
        previous = facts
    return out


def load_detail(engine: Engine, snapshot: Snapshot, assessments: dict[int, Assessment], device_id: int,
                unit_names: dict[str, str], tz: tzinfo, policy: Policy, *,
                by_id: Mapping[int, DeviceState] | None = None,
                monitors: Callable[[int], tuple[DeviceState, ...]] | None = None,
                timeline_page: int = 1) -> DeviceDetail | None:
    """The page of ``device_id`` as of the snapshot's date; None when the snapshot's scope does not hold it.

    ``by_id`` (the snapshot's devices by id) and ``monitors`` (a computer's attached monitors) save a pass
    over the snapshot when the caller keeps them. ``timeline_page``: which ``TIMELINE_LIMIT`` changes to show.
    """
    if by_id is None:
        by_id = {d.id: d for d in snapshot.devices}
    state = by_id.get(device_id)
    if state is None or device_id not in assessments:
        return None
    assessment = assessments[device_id]
    cutoff = end_of_day(snapshot.as_of, tz)
    o, a = table_of(Observation).c, table_of(Agent).c
    with reading(engine) as session:
        conn = session.connection()
        latest = conn.execute(
            sa.select(o.facts).where(o.device_id == device_id, o.observed_at < cutoff)
            .order_by(o.observed_at.desc(), o.id.desc()).limit(1)
        ).scalar()
        agents = tuple(
            AgentKey(_aware(r.created_at) or cutoff, _aware(r.last_seen), _aware(r.revoked_at), r.offline)
            for r in conn.execute(sa.select(a.created_at, a.last_seen, a.revoked_at, a.offline)
                                  .where(a.device_id == device_id, a.created_at < cutoff).order_by(a.created_at))
        )
        end = timeline_page * TIMELINE_LIMIT
        reported, older = _report_changes(conn, device_id, cutoff, end)
        timeline = reported + _version_changes(conn, device_id, cutoff)
    timeline.sort(key=lambda c: c.at, reverse=True)
    supported = os_supported(state.os_name, state.os_version, state.os_build, snapshot.as_of) \
        if state.os_name else None
    return DeviceDetail(
        state=state,
        assessment=assessment,
        unit_name=unit_names.get(state.unit_code, state.unit_code),
        facts=json.loads(latest) if latest else {},
        os_supported=supported,
        evidence=age_evidence(state, assessment.age_source),
        checks=compliance_checks(state, assessment.issues, supported),
        freshness={p.name: signature_freshness(p, snapshot.as_of, policy) for p in state.antivirus},
        monitors=monitors(device_id) if monitors is not None else tuple(
            d for d in snapshot.devices if d.host_id == device_id),
        host=by_id.get(state.host_id) if state.host_id is not None else None,
        agents=agents,
        timeline=tuple(timeline[end - TIMELINE_LIMIT:end]),
        timeline_page=timeline_page,
        timeline_more=older or len(timeline) > end,
    )
