"""A device's timeline: what its reports and hand edits changed, newest first, and a cache of it.

Computing it parses and compares the JSON facts of the device's newest reports; a device with a year of daily
reports costs far more than the rest of its page. The device page keeps the result in the console's cache
(``CoverageCache.remember``) keyed on everything that decides it: the database, the device, the cut-off, how
many changes are wanted, and the data version, which changes whenever a report, an observation or a device
version is added (a hand edit adds a version and its audit entry in one transaction).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, NamedTuple

import sqlalchemy as sa

from server.models import AuditLog, DeviceVersion, Observation, OrgUnit, table_of
from server.services.records import DEVICE_FIELDS

#: Audit actions whose entry tells who made a device version.
_EDIT_ACTIONS = ("device.edit", "device.create", "assets.import")
_ORIGINS = {"device.edit": "edit", "device.create": "create", "assets.import": "import"}


@dataclass(frozen=True)
class Change:
    """A point of the timeline: when, from a report or a hand edit (by whom), and ``(field, old, new)``."""

    at: datetime
    origin: str  # "report", "edit", "create", "import"
    actor: str | None
    fields: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class History:
    """The newest ``wanted`` changes of a device as of a cut-off, and the latest report's facts on the way.

    Shared by the requests that hit the cache: ``latest`` is only ever read, ``rendered`` only added to.
    """

    changes: tuple[Change, ...]  # newest first, at most ``wanted``
    more: bool  # older changes exist
    latest: Mapping[str, Any]  # the newest report's facts before the cut-off (empty: none)
    #: The page's part of the timeline as rendered, by language and time zone (filled by the page).
    rendered: dict[Hashable, str] = field(default_factory=dict, compare=False, repr=False)


def aware(value: datetime | None) -> datetime | None:
    """A database time stamp as an aware UTC instant (SQLite hands them back naive)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


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


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value.isoformat() if isinstance(value, date) else str(value)


def _diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """``(field, old, new)`` for each field of ``new`` whose text differs from ``old``'s."""
    out = []
    for key, value in new.items():
        before, after = _text(old.get(key)), _text(value)
        if before != after:
            out.append((key, before, after))
    return tuple(out)


def _report_changes(conn: sa.Connection, device_id: int, cutoff: datetime,
                    wanted: int) -> tuple[list[Change], bool, dict[str, Any]]:
    """What the newest ``wanted`` reports changed, each against the one before; True when older ones exist;
    and the newest report's facts."""
    o = table_of(Observation).c
    rows = conn.execute(
        sa.select(o.observed_at, o.facts).where(o.device_id == device_id, o.observed_at < cutoff)
        .order_by(o.observed_at.desc(), o.id.desc()).limit(wanted + 1)
    ).all()
    parsed = [json.loads(r.facts) for r in rows]
    out = []
    previous: dict[str, str] = {}
    for index, (row, facts) in enumerate(zip(reversed(rows), reversed(parsed), strict=True)):
        summary = _summary(facts)
        fields = _diff(previous, summary)
        previous = summary
        if index == 0 and len(rows) > wanted:
            continue  # only the base the next one is compared with
        at = aware(row.observed_at)
        if fields and at is not None:
            out.append(Change(at, "report", None, fields))
    return out, len(rows) > wanted, parsed[0] if parsed else {}


def _version_changes(conn: sa.Connection, device_id: int, cutoff: datetime) -> list[Change]:
    v, log = table_of(DeviceVersion).c, table_of(AuditLog).c
    rows = conn.execute(
        sa.select(table_of(DeviceVersion)).where(v.device_id == device_id, v.valid_from < cutoff)
        .order_by(v.valid_from)
    ).all()
    if not rows:
        return []
    units = [r.unit_id for r in rows]
    codes = dict(conn.execute(sa.select(table_of(OrgUnit).c.id, table_of(OrgUnit).c.code)
                              .where(table_of(OrgUnit).c.id.in_(set(units)))).all())
    starts = [r.valid_from for r in rows]
    who: dict[datetime | None, tuple[str, str]] = {}
    for entry in conn.execute(sa.select(log.at, log.actor, log.action, log.detail)
                              .where(log.action.in_(_EDIT_ACTIONS), log.at.in_(starts))):
        detail = json.loads(entry.detail)
        if entry.action == "assets.import" or detail.get("device_id") == device_id:
            who[aware(entry.at)] = (entry.actor, entry.action)
    out = []
    previous: dict[str, Any] = {}
    for row in rows:
        facts = {("unit" if k == "unit_id" else k): (codes.get(getattr(row, k)) if k == "unit_id" else getattr(row, k))
                 for k in DEVICE_FIELDS}
        fields = _diff(previous, facts)
        at = aware(row.valid_from)
        actor, action = who.get(at, (None, ""))
        if fields and at is not None:
            out.append(Change(at, _ORIGINS.get(action, "import"), actor, fields))
        previous = facts
    return out


def device_history(conn: sa.Connection, device_id: int, cutoff: datetime, wanted: int) -> History:
    """The newest ``wanted`` changes before ``cutoff`` from the device's reports and versions, read now."""
    reported, older, latest = _report_changes(conn, device_id, cutoff, wanted)
    timeline = reported + _version_changes(conn, device_id, cutoff)
    timeline.sort(key=lambda c: c.at, reverse=True)
    return History(tuple(timeline[:wanted]), older or len(timeline) > wanted, latest)


class Entry(NamedTuple):
    """A timeline entry as the page words it (each label looked up once per page, not per entry)."""

    origin: str
    at: str  # ISO 8601, for <time datetime>
    when: str
    by: str
    fields: tuple[tuple[str, str, str], ...]  # label, old text, new text


def worded(changes: tuple[Change, ...], texts: Callable[..., str],
           when: Callable[[datetime], str]) -> list[Entry]:
    """The timeline in words: kinds, statuses and yes/no translated, each field named (labels memoised)."""
    labels: dict[str, str] = {}

    def label(key: str) -> str:
        found = labels.get(key)
        if found is None:
            found = labels[key] = texts(key)
        return found

    def value(name: str, text: str) -> str:
        if not text:
            return ""
        if name in ("kind", "status"):
            return label(f"{name}:{text}")
        return label(text) if name == "air_gapped" else text

    makers: dict[tuple[str, str | None], str] = {}

    def by(change: Change) -> str:
        key = (change.origin, change.actor)
        found = makers.get(key)
        if found is None:
            found = makers[key] = texts(f"origin:{change.origin}", actor=change.actor or "?")
        return found

    return [Entry(c.origin, c.at.isoformat(), when(c.at), by(c),
                  tuple((label(f"field:{name}"), value(name, old), value(name, new)) for name, old, new in c.fields))
            for c in changes]
