"""Evaluate the rules and bring the alerts up to date: the whole district, or the devices of new reports."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, tzinfo

from sqlalchemy.engine import Engine

from server.alerts.devices import current_devices, unremediated_detections
from server.alerts.rules import LOCAL_RULES, RULES, district_conditions, local_conditions
from server.alerts.store import Changes, live_keys, reconcile
from server.clock import end_of_day, local_date, utcnow
from server.db import reading, writing
from server.services.history import snapshot
from server.services.policy import Policy

log = logging.getLogger(__name__)


def evaluate_all(engine: Engine, policy: Policy, tz: tzinfo, *, now: datetime | None = None) -> Changes:
    """Every rule over the district's snapshot of today: open what holds, resolve what is fixed."""
    now = now or utcnow()
    today = local_date(now, tz)
    with reading(engine) as session:
        snap = snapshot(session, today, tz=tz)
        detections = unremediated_detections(session)
    found = district_conditions(snap, policy, detections)
    with writing(engine) as session:
        changes = reconcile(session, found, rules=RULES, devices=None, now=utcnow(), read_at=now)
    if changes.opened or changes.resolved:
        log.info("alerts: %d opened, %d resolved", len(changes.opened), len(changes.resolved))
    return changes


def evaluate_devices(engine: Engine, policy: Policy, tz: tzinfo, ids: Collection[int], *,
                     now: datetime | None = None) -> Changes:
    """The local rules of the devices ``ids`` from their stored state (after their reports were committed).

    Reads first and writes only when an alert opens or resolves, so an unchanged report costs one read.
    """
    if not ids:
        return Changes()
    now = now or utcnow()
    today = local_date(now, tz)
    with reading(engine) as session:
        devices = current_devices(session, ids, end_of_day(today, tz))
        detections = unremediated_detections(session, ids)
        found = local_conditions(devices, today, policy, detections)
        unchanged = live_keys(session, LOCAL_RULES, ids) == {c.key for c in found}
    if unchanged:
        return Changes()
    with writing(engine) as session:
        return reconcile(session, found, rules=LOCAL_RULES, devices=ids, now=now)


def silent_devices(engine: Engine, ids: Collection[int]) -> list[int]:
    """Those of ``ids`` with a live ``not_seen`` alert: the only ones a report of unchanged facts may change."""
    import sqlalchemy as sa

    from server.alerts.store import LIVE
    from server.models import Alert, table_of

    t = table_of(Alert).c
    with reading(engine) as session:
        found = session.execute(sa.select(t.device_id).where(t.rule == "not_seen", t.state.in_(LIVE),
                                                             t.device_id.in_(list(ids)))).scalars()
        return sorted({int(d) for d in found})
