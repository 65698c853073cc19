"""The ``alert`` table: open what newly holds, resolve what no longer does, list, count and acknowledge.

An alert is ``open``, then ``acknowledged`` (who, when, a comment: audited) or ``resolved`` (by an evaluation
that no longer finds its condition). At most one alert per key is live (open or acknowledged): a partial
unique index keeps it so when two replicas evaluate at once; a condition that comes back after its alert was
resolved opens a new alert.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from server.alerts.rules import Condition
from server.models import Alert, Device, OrgUnit, table_of
from server.services.records import audit

STATES = ("open", "acknowledged", "resolved")
LIVE = ("open", "acknowledged")
_ALERT = table_of(Alert)
_UNIT = table_of(OrgUnit)
_DEVICE = table_of(Device)


class AlertError(ValueError):
    """An alert that cannot be acknowledged (unknown, out of reach, already resolved)."""


@dataclass
class Changes:
    """What an evaluation changed: alert ids opened and resolved."""

    opened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """For ``--json``."""
        return {"opened": len(self.opened), "resolved": len(self.resolved), "opened_ids": self.opened,
                "resolved_ids": self.resolved}


def reconcile(session: Session, found: Iterable[Condition], *, rules: Collection[str],
              devices: Collection[int] | None, now: datetime, read_at: datetime | None = None) -> Changes:
    """Make the live alerts of ``rules`` (of ``devices``; None: all, district-wide ones too) match ``found``.

    ``read_at``: when the facts were read; an alert opened after it (by a report evaluated meanwhile) is kept.
    """
    t = _ALERT.c
    query = sa.select(t.id, t.key, t.opened_at).where(t.state.in_(LIVE), t.rule.in_(list(rules)))
    if devices is not None:
        query = query.where(t.device_id.in_(list(devices)))
    live = {r.key: r for r in session.execute(query)}
    wanted = {c.key: c for c in found if c.rule in rules}
    changes = Changes()
    gone = [r.id for key, r in live.items() if key not in wanted and (read_at is None or r.opened_at <= read_at)]
    if gone:
        session.execute(sa.update(_ALERT).where(t.id.in_(gone), t.state.in_(LIVE))
                        .values(state="resolved", resolved_at=now))
        changes.resolved = sorted(gone)
    new = [c for key, c in wanted.items() if key not in live]
    if new:
        unit_ids = {r.code: r.id for r in session.execute(sa.select(_UNIT.c.code, _UNIT.c.id))}
        for condition in new:
            values = {"key": condition.key, "rule": condition.rule, "device_id": condition.device_id,
                      "unit_id": unit_ids.get(condition.unit_code) if condition.unit_code else None,
                      "subject": condition.subject[:256], "detail": condition.detail_json(), "state": "open",
                      "opened_at": now}
            try:
                with session.begin_nested():  # another replica may have opened it a moment ago
                    opened = session.execute(sa.insert(_ALERT).values(**values).returning(t.id)).scalar_one()
            except IntegrityError:
                continue
            changes.opened.append(opened)
    return changes


def live_keys(session: Session, rules: Collection[str], devices: Collection[int]) -> set[str]:
    """The keys of the live alerts of ``rules`` on ``devices``."""
    t = _ALERT.c
    query = sa.select(t.key).where(t.state.in_(LIVE), t.rule.in_(list(rules)), t.device_id.in_(list(devices)))
    return set(session.execute(query).scalars())


@dataclass(frozen=True)
class AlertLine:
    """An alert as lists show it."""

    id: int
    rule: str
    state: str
    device_id: int | None
    device_name: str | None
    unit_code: str | None
    unit_name: str | None
    subject: str
    detail: dict[str, Any]
    opened_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    ack_comment: str | None
    resolved_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        """The alert for ``--json``."""
        return {"id": self.id, "rule": self.rule, "state": self.state, "device_id": self.device_id,
                "device": self.device_name, "unit": self.unit_code, "subject": self.subject, "detail": self.detail,
                "opened_at": self.opened_at.isoformat(),
                "acknowledged_by": self.acknowledged_by,
                "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
                "comment": self.ack_comment,
                "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None}


def _scoped(query: sa.Select[Any], units: Collection[str] | None) -> sa.Select[Any]:
    """Alerts of ``units`` and district-wide ones (None: every alert)."""
    if units is None:
        return query
    return query.where(sa.or_(_ALERT.c.unit_id.is_(None), _UNIT.c.code.in_(list(units))))


def _narrowed(query: sa.Select[Any], *, units: Collection[str] | None, states: Collection[str] | None,
              rules: Collection[str] | None, opened_after: datetime | None = None,
              opened_until: datetime | None = None, ids: Collection[int] | None = None) -> sa.Select[Any]:
    """``query`` (over alerts joined to their unit) narrowed by the filters of ``list_alerts``."""
    t = _ALERT.c
    query = _scoped(query, units)
    if states:
        query = query.where(t.state.in_(list(states)))
    if rules:
        query = query.where(t.rule.in_(list(rules)))
    if ids is not None:
        query = query.where(t.id.in_(list(ids)))
    if opened_after is not None:
        query = query.where(t.opened_at > opened_after)
    if opened_until is not None:
        query = query.where(t.opened_at <= opened_until)
    return query


def list_alerts(session: Session, *, units: Collection[str] | None = None, states: Collection[str] | None = None,
                rules: Collection[str] | None = None, opened_after: datetime | None = None,
                opened_until: datetime | None = None, ids: Collection[int] | None = None,
                limit: int | None = None, offset: int = 0) -> list[AlertLine]:
    """Alerts newest first (ties by id, so pages never overlap), narrowed by unit codes (district-wide alerts
    always shown), states and rules; ``limit`` and ``offset`` cut one page out."""
    t = _ALERT.c
    name = sa.func.coalesce(_DEVICE.c.name, _DEVICE.c.hostname)
    joined = _ALERT.outerjoin(_UNIT, _UNIT.c.id == t.unit_id).outerjoin(_DEVICE, _DEVICE.c.id == t.device_id)
    query: sa.Select[Any] = (
        sa.select(t.id, t.rule, t.state, t.device_id, name.label("device_name"), _UNIT.c.code, _UNIT.c.name,
                  t.subject, t.detail, t.opened_at, t.acknowledged_by, t.acknowledged_at, t.ack_comment,
                  t.resolved_at)
             .select_from(joined)
             .order_by(t.opened_at.desc(), t.id.desc()))
    query = _narrowed(query, units=units, states=states, rules=rules, opened_after=opened_after,
                      opened_until=opened_until, ids=ids)
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    return [AlertLine(r.id, r.rule, r.state, r.device_id, r.device_name, r.code, r.name, r.subject,
                      json.loads(r.detail or "{}"), r.opened_at, r.acknowledged_by, r.acknowledged_at,
                      r.ack_comment, r.resolved_at)
            for r in session.execute(query)]


def count_alerts(session: Session, *, units: Collection[str] | None = None, states: Collection[str] | None = None,
                 rules: Collection[str] | None = None) -> int:
    """How many alerts ``list_alerts`` would list with these filters and no limit."""
    t = _ALERT.c
    query = sa.select(sa.func.count()).select_from(_ALERT.outerjoin(_UNIT, _UNIT.c.id == t.unit_id))
    return int(session.execute(_narrowed(query, units=units, states=states, rules=rules)).scalar_one())


def count_by_state(session: Session, units: Collection[str] | None = None) -> dict[str, int]:
    """How many alerts of the scope are in each state."""
    t = _ALERT.c
    query = (sa.select(t.state, sa.func.count()).select_from(_ALERT.outerjoin(_UNIT, _UNIT.c.id == t.unit_id))
             .group_by(t.state))
    counted = {r[0]: r[1] for r in session.execute(_scoped(query, units))}
    return {state: int(counted.get(state, 0)) for state in STATES}


def acknowledge(session: Session, alert_id: int, actor: str, comment: str, now: datetime,
                units: Collection[str] | None = None) -> AlertLine:
    """Acknowledge a live alert within ``units`` (None: any) with a comment; audited. AlertError says why not."""
    t = _ALERT.c
    query = _scoped(sa.select(t.id, t.state).select_from(_ALERT.outerjoin(_UNIT, _UNIT.c.id == t.unit_id))
                    .where(t.id == alert_id), units)
    row = session.execute(query).first()
    if row is None:
        raise AlertError(f"no alert {alert_id} within reach")
    if row.state == "resolved":
        raise AlertError(f"alert {alert_id} is already resolved")
    text = comment.strip()[:1000]
    session.execute(sa.update(_ALERT).where(t.id == alert_id)
                    .values(state="acknowledged", acknowledged_by=actor, acknowledged_at=now, ack_comment=text))
    audit(session, actor, "alert.acknowledge", now, alert_id=alert_id, comment=text, previous_state=row.state)
    return list_alerts(session, ids=(alert_id,))[0]
