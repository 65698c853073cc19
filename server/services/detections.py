"""Malware detections: stored once per (device, agent's id), their status over time, and the state as of a date.

``record`` runs inside ingest when a report's facts changed (an unchanged report repeats what was recorded):
a detection row per (device, key), a ``DetectionEvent`` only when the status or action differs from what held
at the report's filed time, and ``Detection.status``/``status_since`` taken from its latest event, so a late
report (spooled, carried by hand) never moves a state backwards; its description (threat, files, severity)
comes from the newest report. Replaying a
report finds its state already there and writes nothing. A late report that changes a detection is followed,
at the device's next report, by the state that held before it (as ``ingest._keep_next_report`` does for the
observation), unless that report stated its own.

``detections_as_of`` rebuilds every detection's status at the end of a day from the events alone, for the
snapshot (``services/history.py``); ``services/coverage.py`` counts them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from server import clock
from server.models import Detection, DetectionEvent, ReceivedReport, UTCDateTime, table_of
from server.services.state import DetectionState, Snapshot
from shared.schema import Detection as WireDetection
from shared.schema import InventoryReport

_DETECTION = table_of(Detection)
_EVENT = table_of(DetectionEvent)
_REPORT = table_of(ReceivedReport)
#: A detection still needing the officer: on the machine, or the product's action failed.
UNREMEDIATED = frozenset({"active", "failed"})
SEVERITIES = ("severe", "high", "moderate", "low", "unknown")


def period_start(as_of: date) -> date:
    """First day of the report period ending ``as_of``: the year's first day (the first half or the year, as
    ``report.section.default_period`` names it)."""
    return date(as_of.year, 1, 1)


def _state(item: WireDetection) -> tuple[str, str | None]:
    """What makes a new event: the status and the action taken."""
    return item.status, item.action


_DESCRIPTIVE = ("threat", "category", "severity", "source", "product", "resources", "detected_at")


# Built once: the statements of ``record`` run for every changed report with detections.
_ROWS = sa.select(
    _DETECTION.c.id, _DETECTION.c.key, _DETECTION.c.status_since, _DETECTION.c.first_reported_at,
    *(_DETECTION.c[name] for name in _DESCRIPTIVE),
).where(_DETECTION.c.device_id == sa.bindparam("device"), _DETECTION.c.key.in_(sa.bindparam("keys", expanding=True)))
_RANKED = (
    sa.select(_EVENT.c.detection_id, _EVENT.c.status, _EVENT.c.action,
              sa.func.row_number().over(partition_by=_EVENT.c.detection_id,
                                        order_by=(_EVENT.c.observed_at.desc(), _EVENT.c.id.desc())).label("rank"))
    .where(_EVENT.c.detection_id.in_(sa.bindparam("ids", expanding=True)),
           _EVENT.c.observed_at <= sa.bindparam("at", type_=UTCDateTime()))
    .subquery()
)
_STATES = sa.select(_RANKED).where(_RANKED.c.rank == 1)


def _descriptive(item: WireDetection) -> dict[str, Any]:
    return {
        "threat": item.threat[:512], "category": item.category, "severity": item.severity, "source": item.source,
        "product": item.product, "resources": json.dumps(list(item.resources), ensure_ascii=False),
        "detected_at": item.detected_at,
    }


def _event(detection_id: int, item: WireDetection, filed: datetime, report_id: Any) -> dict[str, Any]:
    return {"detection_id": detection_id, "observed_at": filed, "report_id": report_id, "status": item.status,
            "action": item.action, "action_success": item.action_success, "remediated_at": item.remediated_at}


def record(conn: Connection, device_id: int, report: InventoryReport, filed: datetime) -> bool:
    """Store ``report``'s detections for ``device_id`` as filed at ``filed``; True when rows were written.

    (The observation's ``detections_readable`` is the plan's: ``facts.ObservationFacts``.)
    """
    found = report.detections
    if found is None or not found.items:
        return False
    items: dict[str, WireDetection] = {}
    for item in found.items:
        items.setdefault(item.id, item)  # the newest first: a repeated id keeps the newest
    if conn.dialect.name == "postgresql":
        # Serialise with other reports of this device (ingest would lock the row later in the transaction).
        conn.execute(sa.text("SELECT id FROM device WHERE id = :id FOR UPDATE"), {"id": device_id})
    rows = {r.key: r for r in conn.execute(_ROWS, {"device": device_id, "keys": list(items)})}
    new = [{"device_id": device_id, "key": key, **_descriptive(item), "first_reported_at": filed,
            "status": item.status, "status_since": filed} for key, item in items.items() if key not in rows]
    if new:
        conn.execute(sa.insert(_DETECTION), new)
        rows.update({r.key: r for r in conn.execute(_ROWS, {"device": device_id,
                                                             "keys": [row["key"] for row in new]})})
    ids = {key: rows[key].id for key in items}
    created = {row["key"] for row in new}
    held = _states_at(conn, [ids[key] for key in items if key not in created], filed)
    events = [_event(ids[key], item, filed, report.report_id) for key, item in items.items()
              if held.get(ids[key]) != _state(item)]
    if events:
        conn.execute(sa.insert(_EVENT), events)
    changed = {e["detection_id"] for e in events}
    late = changed and _tidy_following(conn, device_id, filed, {
        ids[k]: (item, held.get(ids[k])) for k, item in items.items() if ids[k] in changed})
    updates = 0
    for key, item in items.items():
        row = rows[key]
        if key in created:
            continue
        values: dict[str, Any] = {}
        if filed >= row.status_since:  # the newest report describes it (names, files, severity)
            values.update({k: v for k, v in _descriptive(item).items() if getattr(row, k) != v})
        if filed < row.first_reported_at:
            values["first_reported_at"] = filed
        if ids[key] in changed:
            if late:  # the latest event, whatever order the reports came in
                latest = _latest_event(conn, ids[key])
                values.update(status=latest.status, status_since=latest.observed_at)
            else:
                values.update(status=item.status, status_since=filed)
        if values:
            conn.execute(sa.update(_DETECTION).where(_DETECTION.c.id == row.id).values(**values))
            updates += 1
    return bool(new or events or updates)


def _latest_event(conn: Connection, detection_id: int) -> Any:
    e = _EVENT.c
    return conn.execute(sa.select(e.status, e.observed_at).where(e.detection_id == detection_id)
                        .order_by(e.observed_at.desc(), e.id.desc()).limit(1)).one()


def _states_at(conn: Connection, ids: list[int], at: datetime) -> dict[int, tuple[str, str | None]]:
    """Each detection's (status, action) by its latest event at or before ``at`` (a new one has none)."""
    if not ids:
        return {}
    return {r.detection_id: (r.status, r.action) for r in conn.execute(_STATES, {"ids": ids, "at": at})}


def _tidy_following(conn: Connection, device_id: int, filed: datetime,
                    changed: Mapping[int, tuple[WireDetection, tuple[str, str | None] | None]]) -> bool:
    """After events at ``filed``: drop a later event that now repeats one, and, when this report was late,
    restore at the device's next report the state that held before (unless that report stated its own).
    True when the report was late (a later report of the device was received before)."""
    r, e = _REPORT.c, _EVENT.c
    following = conn.execute(
        sa.select(r.report_id, r.collected_at).where(r.device_id == device_id, r.collected_at > filed)
        .order_by(r.collected_at, r.id).limit(1)
    ).first()
    if following is None:
        return False  # in order: events come from reports, so none is later
    for detection_id, (item, before) in changed.items():
        after = conn.execute(
            sa.select(e.id, e.status, e.action, e.observed_at)
            .where(e.detection_id == detection_id, e.observed_at > filed)
            .order_by(e.observed_at, e.id).limit(1)
        ).first()
        if before is not None and (after is None or after.observed_at > following.collected_at):
            conn.execute(sa.insert(_EVENT).values(
                detection_id=detection_id, observed_at=following.collected_at, report_id=following.report_id,
                status=before[0], action=before[1], action_success=None, remediated_at=None))
        elif after is not None and (after.status, after.action) == _state(item):
            conn.execute(sa.delete(_EVENT).where(e.id == after.id))
    return True


# --- as of a date ---------------------------------------------------------------------------------------------


def detections_as_of(session: Session, cutoff: datetime, period_from: datetime) -> tuple[DetectionState, ...]:
    """Every detection known before ``cutoff`` with its status then, and what it did in the period that starts
    at ``period_from``: rebuilt from the events, so a past date reads the same later."""
    e = _EVENT.c
    ranked = (
        sa.select(
            e.detection_id, e.status, e.observed_at,
            sa.func.row_number().over(partition_by=e.detection_id, order_by=(e.observed_at.desc(), e.id.desc()))
            .label("rank"),
            sa.func.min(e.observed_at).over(partition_by=e.detection_id).label("first"),
        )
        .where(e.observed_at < cutoff)
        .subquery()
    )
    d = _DETECTION.c
    rows = session.execute(
        sa.select(d.id, d.device_id, d.severity, ranked.c.status, ranked.c.observed_at, ranked.c.first)
        .join(ranked, ranked.c.detection_id == d.id)
        .where(ranked.c.rank == 1)
        .order_by(d.id)
    )
    out = []
    for r in rows:
        first, changed = _aware(r.first), _aware(r.observed_at)
        out.append(DetectionState(
            id=r.id, device_id=r.device_id, severity=r.severity, status=r.status, first_reported_at=first,
            status_since=changed, found_in_period=first >= period_from,
            in_period=first >= period_from or changed >= period_from or r.status in UNREMEDIATED,
            remediated_in_period=r.status == "remediated" and changed >= period_from,
        ))
    return tuple(out)


def period_bounds(as_of: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """(start of the period, end of ``as_of``) as aware UTC instants in the district's zone."""
    return clock.end_of_day(period_start(as_of) - timedelta(days=1), tz), clock.end_of_day(as_of, tz)


def _aware(value: Any) -> datetime:
    """Timestamps read through a subquery skip the column type: aware UTC here."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


# --- lists for people: the console's list and device page, ``kiemke-server detections list`` ---------------


@dataclass(frozen=True)
class DetectionChange:
    """One change of a detection's status, as a report stated it."""

    at: datetime
    status: str
    action: str | None
    action_success: bool | None
    remediated_at: datetime | None


@dataclass(frozen=True)
class DetectionEntry:
    """A detection as of the cut-off, with what the officer needs to act on it."""

    id: int
    device_id: int
    device_name: str | None
    unit_code: str
    threat: str
    category: str | None
    severity: str
    source: str
    product: str | None
    resources: tuple[str, ...]
    detected_at: datetime | None
    first_reported_at: datetime
    status: str
    status_since: datetime
    history: tuple[DetectionChange, ...]

    @property
    def action(self) -> str | None:
        """The action the product took, as the latest change says."""
        return self.history[-1].action if self.history else None

    @property
    def action_success(self) -> bool | None:
        """Whether that action succeeded (None: not said)."""
        return self.history[-1].action_success if self.history else None

    @property
    def unremediated(self) -> bool:
        """Active or failed: still for the officer to deal with."""
        return self.status in UNREMEDIATED

    def as_json(self) -> dict[str, Any]:
        """JSON-ready data (timestamps in ISO 8601, UTC)."""
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id, "device_id": self.device_id, "device": self.device_name, "unit": self.unit_code,
            "threat": self.threat, "category": self.category, "severity": self.severity, "source": self.source,
            "product": self.product, "resources": list(self.resources), "detected_at": iso(self.detected_at),
            "first_reported_at": iso(self.first_reported_at), "status": self.status,
            "status_since": iso(self.status_since), "action": self.action, "action_success": self.action_success,
            "history": [{"at": iso(c.at), "status": c.status, "action": c.action, "action_success": c.action_success,
                         "remediated_at": iso(c.remediated_at)} for c in self.history],
        }


@dataclass(frozen=True)
class DetectionFilter:
    """What a list of detections is narrowed to (every one given must hold)."""

    statuses: frozenset[str] = frozenset()  # empty: any; "unremediated" stands for active and failed
    severities: frozenset[str] = frozenset()
    since: datetime | None = None  # found or changed at or after this instant

    def keeps(self, d: DetectionState) -> bool:
        """Whether ``d`` passes."""
        statuses = set(self.statuses)
        if "unremediated" in statuses:
            statuses |= UNREMEDIATED
        if statuses and d.status not in statuses:
            return False
        if self.severities and d.severity not in self.severities:
            return False
        return self.since is None or d.first_reported_at >= self.since or d.status_since >= self.since


_SEVERITY_RANK = {s: n for n, s in enumerate(SEVERITIES)}


def detection_entries(session: Session, snapshot: Snapshot, device_ids: Iterable[int], cutoff: datetime,
                      narrow: DetectionFilter | None = None) -> list[DetectionEntry]:
    """The snapshot's detections on ``device_ids`` (the scope) that ``narrow`` keeps, with their details and
    history up to ``cutoff``: unremediated first, then by severity, newest first."""
    scope = set(device_ids)
    narrow = narrow or DetectionFilter()
    states = {d.id: d for d in snapshot.detections if d.device_id in scope and narrow.keeps(d)}
    if not states:
        return []
    devices = {d.id: d for d in snapshot.devices if d.id in scope}
    d, e = _DETECTION.c, _EVENT.c
    details: dict[int, Any] = {}
    history: dict[int, list[DetectionChange]] = {}
    ids = sorted(states)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for row in session.execute(sa.select(_DETECTION).where(d.id.in_(chunk))):
            details[row.id] = row
        for ev in session.execute(sa.select(e.detection_id, e.observed_at, e.status, e.action, e.action_success,
                                            e.remediated_at)
                                  .where(e.detection_id.in_(chunk), e.observed_at < cutoff)
                                  .order_by(e.detection_id, e.observed_at, e.id)):
            history.setdefault(ev.detection_id, []).append(
                DetectionChange(_aware(ev.observed_at), ev.status, ev.action, ev.action_success,
                                None if ev.remediated_at is None else _aware(ev.remediated_at)))
    out = []
    for detection_id, state in states.items():
        row, device = details[detection_id], devices[state.device_id]
        out.append(DetectionEntry(
            id=detection_id, device_id=state.device_id, device_name=device.hostname or device.name,
            unit_code=device.unit_code, threat=row.threat, category=row.category, severity=state.severity,
            source=row.source, product=row.product, resources=tuple(json.loads(row.resources or "[]")),
            detected_at=row.detected_at, first_reported_at=state.first_reported_at, status=state.status,
            status_since=state.status_since, history=tuple(history.get(detection_id, ())),
        ))
    out.sort(key=lambda x: (not x.unremediated, _SEVERITY_RANK.get(x.severity, 9), -x.status_since.timestamp(),
                            -x.id))
    return out
