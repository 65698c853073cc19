"""A few devices' current state, read straight from their rows (the arrival path: no district snapshot).

The facts are those ``services.history.snapshot`` gives for today: the device's kept record, its latest
observation, when it was last seen; the local rules read nothing else.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlmodel import Session

from server.alerts.rules import UNREMEDIATED, DetectionFact
from server.models import Detection, Device, Observation, OrgUnit, table_of
from server.services.facts import ObservationFacts
from server.services.history import _FACT_COLUMNS, _aware
from server.services.state import DeviceKind, DeviceState, DeviceStatus

_DEVICE = table_of(Device)
_OBS = table_of(Observation)
_UNIT = table_of(OrgUnit)
_DETECTION = table_of(Detection)


def current_devices(session: Session, ids: Collection[int], cutoff: datetime) -> list[DeviceState]:
    """The devices ``ids`` as they stand at ``cutoff`` (the end of today, as the day's snapshot reads them;
    unknown ids are left out). The observation's facts reach the state as in the snapshot (``ObservationFacts``)."""
    if not ids:
        return []
    d, o, u = _DEVICE.c, _OBS.c, _UNIT.c
    latest = (
        sa.select(o.device_id, o.delivered_offline, *(o[name] for name in _FACT_COLUMNS),
                  sa.func.row_number().over(partition_by=o.device_id, order_by=(o.observed_at.desc(), o.id.desc()))
                  .label("rank"))
        .where(o.device_id.in_(list(ids)), o.observed_at < cutoff)
        .subquery()
    )
    rows = session.execute(
        sa.select(d.id, u.code, d.kind, d.status, d.name, d.vendor, d.model, d.serial, d.purchased_on,
                  d.air_gapped, d.machine_id, d.first_seen, d.last_seen, d.reports_received,
                  latest.c.device_id.label("observed"), latest.c.delivered_offline,
                  *(latest.c[name] for name in _FACT_COLUMNS))
        .join(_UNIT, u.id == d.unit_id)
        .outerjoin(latest, sa.and_(latest.c.device_id == d.id, latest.c.rank == 1))
        .where(d.id.in_(list(ids)))
    ).all()
    return [
        DeviceState(
            id=r.id, unit_code=r.code, kind=cast(DeviceKind, r.kind), status=cast(DeviceStatus, r.status),
            name=r.name, vendor=r.vendor, model=r.model, serial=r.serial, purchased_on=r.purchased_on,
            air_gapped=r.air_gapped, machine_id=r.machine_id, has_agent=r.last_seen is not None,
            delivered_offline=bool(r.delivered_offline), first_seen=_aware(r.first_seen),
            last_seen=_aware(r.last_seen), reports_received=r.reports_received,
            **(ObservationFacts.from_row(r) if r.observed is not None else ObservationFacts()).state(),
        )
        for r in rows
    ]


def unremediated_detections(session: Session, ids: Collection[int] | None = None) -> list[DetectionFact]:
    """Detections whose latest status is active or failed (of the devices ``ids``; None: every device)."""
    t = _DETECTION.c
    query = sa.select(t.device_id, t.key, t.threat, t.severity, t.status).where(t.status.in_(UNREMEDIATED))
    if ids is not None:
        query = query.where(t.device_id.in_(list(ids)))
    return [DetectionFact(r.device_id, r.key, r.threat, r.severity, r.status) for r in session.execute(query)]
