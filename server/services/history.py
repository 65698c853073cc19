"""Rebuild the inventory as it stood at the end of a day: the ``Snapshot`` every figure is computed from.

A handful of set-based queries, whatever the number of devices: unit, device and licence versions whose
span covers the cut-off; each device's latest observation at or before it (a window function), with the
earliest BIOS date seen until then; report counts up to then; agents enrolled by then. Reports count by
when they were collected, so a report carried in on a USB stick days later still describes its own day,
and a report collected after the cut-off never changes it.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime, timezone, tzinfo
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlmodel import Session

from server import clock
from server.config import report_timezone
from server.models import (
    Agent,
    AntivirusLicence,
    AntivirusLicenceVersion,
    Device,
    DeviceVersion,
    MonitorSighting,
    Observation,
    OrgUnit,
    OrgUnitVersion,
    ReceivedReport,
    table_of,
)
from server.services.detections import detections_as_of, period_bounds
from server.services.facts import ObservationFacts, stored_day
from server.services.gcpause import cycle_collector_paused
from server.services.state import (
    DeviceKind,
    DeviceState,
    DeviceStatus,
    InternetLink,
    LicenceState,
    Snapshot,
    UnitKind,
    UnitState,
)

_UNIT = table_of(OrgUnit)
_UNIT_V = table_of(OrgUnitVersion)
_DEVICE = table_of(Device)
_DEVICE_V = table_of(DeviceVersion)
_OBS = table_of(Observation)
_REPORT = table_of(ReceivedReport)
_SIGHTING = table_of(MonitorSighting)
_AGENT = table_of(Agent)
_LICENCE = table_of(AntivirusLicence)
_LICENCE_V = table_of(AntivirusLicenceVersion)
_NO_FACTS = ObservationFacts()  # a device no agent has reported on


def end_of_day(as_of: date, tz: tzinfo | None = None) -> datetime:
    """``clock.end_of_day`` in ``tz``, by default ``KIEMKE_TIMEZONE`` (Asia/Ho_Chi_Minh)."""
    return clock.end_of_day(as_of, tz or report_timezone())


def _covers(start: sa.ColumnElement[Any], end: sa.ColumnElement[Any], cutoff: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(start < cutoff, sa.or_(end.is_(None), end >= cutoff))


def _units(session: Session, cutoff: datetime) -> tuple[list[UnitState], dict[int, str]]:
    codes = {row.id: row.code for row in session.execute(sa.select(_UNIT.c.id, _UNIT.c.code))}
    v = _UNIT_V.c
    rows = session.execute(
        sa.select(v.unit_id, v.name, v.kind, v.parent_id, v.staff, v.lan, v.wifi, v.wan, v.internet, v.one_stop_shop)
        .where(_covers(v.valid_from, v.valid_to, cutoff))
    )
    units = [
        UnitState(
            code=codes[r.unit_id], name=r.name, kind=cast(UnitKind, r.kind),
            parent_code=codes.get(r.parent_id) if r.parent_id is not None else None, staff=r.staff, lan=r.lan,
            wifi=r.wifi, wan=r.wan, internet=cast(InternetLink | None, r.internet), one_stop_shop=r.one_stop_shop,
        )
        for r in rows
    ]
    return sorted(units, key=lambda u: u.code), codes


_FACT_COLUMNS = tuple(f.name for f in fields(ObservationFacts))


def _latest_observations(session: Session, cutoff: datetime) -> dict[int, Any]:
    o = _OBS.c
    ranked = (
        sa.select(
            o.id, o.device_id, *(o[name] for name in _FACT_COLUMNS),
            sa.func.row_number().over(partition_by=o.device_id, order_by=(o.observed_at.desc(), o.id.desc()))
            .label("rank"),
            sa.func.min(o.bios_date).over(partition_by=o.device_id).label("earliest_bios"),
        )
        .where(o.observed_at < cutoff)
        .subquery()
    )
    rows = session.execute(sa.select(ranked).where(ranked.c.rank == 1))
    return {r.device_id: r for r in rows}


class _Sighted(NamedTuple):
    """A monitor as agents saw it up to the cut-off."""

    attached: bool  # the latest observation of ``host`` shows it
    host: int  # the computer that showed it last
    at: datetime  # when that computer's report last showed it as a change (its observation)
    first_seen: datetime | None
    last_seen: datetime | None
    year: int | None


def _monitor_sightings(session: Session, cutoff: datetime, latest: dict[int, Any], counts: dict[int, Any]
                       ) -> dict[int, _Sighted]:
    """Monitor id -> how agents saw it as of ``cutoff``.

    A monitor is attached to the computer of its latest sighting while that computer's latest observation is
    the one that showed it; it was last seen at that computer's latest report then, or, once detached, at the
    computer's last report before its next observation (which no longer showed the monitor).
    """
    s = _SIGHTING.c
    ranked = (
        sa.select(
            s.monitor_id, s.observation_id, s.host_id, s.observed_at,
            sa.func.row_number().over(partition_by=s.monitor_id, order_by=(s.observed_at.desc(), s.id.desc()))
            .label("rank"),
            sa.func.min(s.observed_at).over(partition_by=s.monitor_id).label("first_seen"),
            sa.func.min(s.year).over(partition_by=s.monitor_id).label("year"),
        )
        .where(s.observed_at < cutoff)
        .subquery()
    )
    out: dict[int, _Sighted] = {}
    detached: list[tuple[int, int]] = []  # (monitor id, observation id of its latest sighting)
    for r in session.execute(sa.select(ranked).where(ranked.c.rank == 1)):
        host_obs = latest.get(r.host_id)
        attached = host_obs is not None and host_obs.id == r.observation_id
        seen = counts.get(r.host_id) if attached else None
        out[r.monitor_id] = _Sighted(attached, r.host_id, cast(datetime, _aware(r.observed_at)), _aware(r.first_seen),
                                     _aware(seen.last_seen) if seen else None, r.year)
        if not attached:
            detached.append((r.monitor_id, r.observation_id))
    o, rep = _OBS.c, _REPORT.c
    for start in range(0, len(detached), 400):
        chunk = detached[start:start + 400]
        following = (
            sa.select(sa.func.min(o.observed_at))
            .where(o.device_id == s.host_id, o.observed_at > s.observed_at, o.observed_at < cutoff)
            .scalar_subquery()
        )
        last = (
            sa.select(sa.func.max(rep.collected_at))
            .where(rep.device_id == s.host_id, rep.collected_at >= s.observed_at,
                   rep.collected_at < sa.func.coalesce(following, cutoff))
            .scalar_subquery()
        )
        wanted = set(chunk)
        rows = session.execute(
            sa.select(s.monitor_id, s.observation_id, last.label("last_seen"))
            .where(s.observation_id.in_({obs for _, obs in chunk}), s.monitor_id.in_({m for m, _ in chunk}))
        )
        for monitor, observation, seen_last in rows:
            if (monitor, observation) in wanted:
                out[monitor] = out[monitor]._replace(last_seen=_aware(seen_last))
    return out


def _report_counts(session: Session, cutoff: datetime) -> dict[int, Any]:
    r = _REPORT.c
    rows = session.execute(
        sa.select(
            r.device_id,
            sa.func.count().label("received"),
            sa.func.min(r.collected_at).label("first_seen"),
            sa.func.max(r.collected_at).label("last_seen"),
            sa.func.max(sa.case((r.via == "import", r.collected_at))).label("last_import"),
        )
        .where(r.collected_at < cutoff)
        .group_by(r.device_id)
    )
    return {row.device_id: row for row in rows}


def _agent_devices(session: Session, cutoff: datetime) -> set[int]:
    a = _AGENT.c
    rows = session.execute(
        sa.select(a.device_id).distinct().where(
            a.device_id.is_not(None), a.created_at < cutoff, sa.or_(a.revoked_at.is_(None), a.revoked_at >= cutoff)
        )
    )
    return {row[0] for row in rows}


def _aware(value: Any) -> datetime | None:
    """Timestamps read through a subquery skip the column type: make them aware UTC here."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return cast(datetime, value).replace(tzinfo=timezone.utc) if value.tzinfo is None else cast(datetime, value)


def _devices(session: Session, cutoff: datetime, codes: dict[int, str], units: set[str]) -> list[DeviceState]:
    v, d = _DEVICE_V.c, _DEVICE.c
    rows = session.execute(
        sa.select(
            v.device_id, v.unit_id, v.kind, v.status, v.name, v.vendor, v.model, v.serial, v.air_gapped,
            v.purchased_on, v.notes, v.valid_from, d.machine_id, d.possible_duplicate_of,
        )
        .join(_DEVICE, d.id == v.device_id)
        .where(_covers(v.valid_from, v.valid_to, cutoff))
    ).all()
    observations = _latest_observations(session, cutoff)
    counts = _report_counts(session, cutoff)
    agents = _agent_devices(session, cutoff)
    monitors = _monitor_sightings(session, cutoff, observations, counts)
    unit_of = {r.device_id: r.unit_id for r in rows}
    devices = []
    for r in rows:
        unit = codes[r.unit_id]
        sighted = monitors.get(r.device_id) if r.kind == "monitor" else None
        if sighted is not None and sighted.host in unit_of and cast(datetime, _aware(r.valid_from)) <= sighted.at:
            # A monitor is where the computer that last showed it is, unless its record was edited since.
            unit = codes[unit_of[sighted.host]]
        if unit not in units:
            continue
        obs, seen = observations.get(r.device_id), counts.get(r.device_id)
        if sighted is not None:
            devices.append(DeviceState(
                id=r.device_id, unit_code=unit, kind="monitor", status=cast(DeviceStatus, r.status), name=r.name,
                vendor=r.vendor, model=r.model, serial=r.serial, air_gapped=r.air_gapped,
                purchased_on=r.purchased_on, notes=r.notes, host_id=sighted.host if sighted.attached else None,
                first_seen=sighted.first_seen, last_seen=sighted.last_seen, monitor_year=sighted.year,
            ))
            continue
        last_seen = _aware(seen.last_seen) if seen else None
        devices.append(
            DeviceState(
                id=r.device_id, unit_code=unit, kind=cast(DeviceKind, r.kind), status=cast(DeviceStatus, r.status),
                name=r.name, vendor=r.vendor, model=r.model, serial=r.serial, air_gapped=r.air_gapped,
                purchased_on=r.purchased_on, notes=r.notes,
                machine_id=r.machine_id if seen else None,
                has_agent=bool(seen) or r.device_id in agents,
                delivered_offline=bool(seen and seen.last_import is not None and _aware(seen.last_import) == last_seen),
                first_seen=_aware(seen.first_seen) if seen else None,
                last_seen=last_seen,
                reports_received=seen.received if seen else 0,
                earliest_bios_date=stored_day(obs.earliest_bios) if obs else None,
                **(ObservationFacts.from_row(obs) if obs else _NO_FACTS).state(),
                possible_duplicate_of=r.possible_duplicate_of,
            )
        )
    return sorted(devices, key=lambda s: s.id)


def _licences(session: Session, cutoff: datetime, codes: dict[int, str]) -> list[LicenceState]:
    v = _LICENCE_V.c
    rows = session.execute(
        sa.select(v.licence_id, v.product, v.seats, v.valid_from, v.valid_to, v.unit_id)
        .where(_covers(v.recorded_from, v.recorded_to, cutoff))
    )
    licences = [
        LicenceState(
            id=r.licence_id, product=r.product, seats=r.seats, valid_from=r.valid_from, valid_to=r.valid_to,
            unit_code=codes[r.unit_id] if r.unit_id is not None else None,
        )
        for r in rows
    ]
    return sorted(licences, key=lambda lic: lic.id)


def _later_correction(
    session: Session, table: sa.Table, owner: str, start: str, cutoff: datetime, *also: sa.ColumnElement[bool]
) -> datetime | None:
    """Latest version recorded after ``cutoff`` of a record that existed by then (or that ``also`` admits)."""
    c = table.c
    existed = sa.select(c[owner]).where(c[start] < cutoff)
    condition: sa.ColumnElement[bool] = c[owner].in_(existed)
    if also:
        condition = sa.or_(condition, *also)
    return _aware(session.execute(sa.select(sa.func.max(c[start])).where(c[start] >= cutoff, condition)).scalar())


def _corrected_after(session: Session, as_of: date, cutoff: datetime) -> datetime | None:
    lv, dv = _LICENCE_V.c, _DEVICE_V.c
    licence_in_force = sa.and_(
        sa.or_(lv.valid_from.is_(None), lv.valid_from <= as_of), sa.or_(lv.valid_to.is_(None), lv.valid_to >= as_of)
    )
    bought_by_then = sa.and_(dv.purchased_on.is_not(None), dv.purchased_on <= as_of)
    found = [
        _later_correction(session, _UNIT_V, "unit_id", "valid_from", cutoff),
        _later_correction(session, _DEVICE_V, "device_id", "valid_from", cutoff, bought_by_then),
        _later_correction(session, _LICENCE_V, "licence_id", "recorded_from", cutoff, licence_in_force),
    ]
    return max((f for f in found if f is not None), default=None)


def units_as_of(session: Session, as_of: date, *, tz: tzinfo | None = None) -> list[UnitState]:
    """The units as they stood at the end of ``as_of``, by code (without the devices a snapshot reads)."""
    return _units(session, end_of_day(as_of, tz))[0]


def snapshot(session: Session, as_of: date, *, tz: tzinfo | None = None) -> Snapshot:
    """The whole inventory at the end of ``as_of`` (in ``tz``, default the district's zone).

    Always the whole tree: a scope is narrowed by ``coverage_for``, because licence seats are allotted
    across the district (see ``services/figures.py``).
    """
    with cycle_collector_paused():
        cutoff = end_of_day(as_of, tz)
        units, codes = _units(session, cutoff)
        return Snapshot(
            as_of=as_of,
            units=tuple(units),
            devices=tuple(_devices(session, cutoff, codes, {u.code for u in units})),
            licences=tuple(_licences(session, cutoff, codes)),
            corrected_after=_corrected_after(session, as_of, cutoff),
            detections=detections_as_of(session, cutoff, period_bounds(as_of, tz or report_timezone())[0]),
        )
