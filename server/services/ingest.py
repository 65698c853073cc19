"""Ingest one report: find its device, record it once, keep history only when facts changed.

One report is three steps: read what the database holds (the device, by machine id, serial or the agent's
own; for a late report the observation that held when it was collected), decide what changes
(``ingest_plan.plan``: pure, unit-tested without a database), carry the plan out (``ingest_sql.execute``,
one executor per engine). Per-report side stores (the monitors' devices today) are called in one place,
``_side_stores``, between the plan and its execution. ``receive`` runs one report in one transaction
(imports, tests); the API batches reports through ``ingest_writer``, one savepoint each when needed.
De-duplication rests on the unique ``received_report.report_id``: the insert is ``ON CONFLICT DO NOTHING``,
so when several server processes receive the same report at once exactly one counts it and the others
answer ``duplicate`` after rolling back. Counters and "latest" columns on the device are updated by SQL
expressions, never from values read earlier, so concurrent reports for one device cannot lose an update.
A new machine seen by two processes at once trips the unique ``device.machine_id``; the loser retries and
then finds the device.

An agent is one machine: its key writes only reports carrying the machine id it enrolled with, to its own
device (``ForeignMachine`` otherwise, before anything is written). A serial finds a hand-entered asset only
in the agent's own unit; another unit's asset with that serial becomes a possible duplicate, never a move.
Time is the server's: a ``collected_at`` before the agent's enrolment (or 2000) or more than a day after the
receipt is a wrong clock; such a report is filed at its receipt time with the claim kept and the PC flagged
``clock_wrong`` (``filed_time``). Nothing an agent reports is dated after its receipt.

A stored observation also records the computer's network evidence (LAN, Wi-Fi) and a ``monitor_sighting`` per
monitor it shows; each monitor is a device of kind ``monitor`` (``MonitorIdentity`` says how one is named).
The computer's row caches its monitors' ids under a hash of their identities, so a changed report with the
same monitors needs no lookup; only a different set (or a late report) looks them up or creates them, and a
new monitor seen by two processes at once trips the unique ``device.edid_key`` like a new machine.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from server.db import write_lock, writer
from server.models import (
    Device,
    DeviceVersion,
    MonitorSighting,
    Observation,
    ReceivedReport,
    UTCDateTime,
    table_of,
    utcnow,
)
from server.services import detections
from server.services import ingest_sql as sql
from server.services.facts import EDID_PLACEHOLDER_SERIALS, MonitorFacts, MonitorIdentity, NetworkEvidence
from server.services.ingest_plan import (
    CLOCK_TOLERANCE,
    EARLIEST_BELIEVED,
    Current,
    DeviceRow,
    Sender,
    Via,
    WritePlan,
    device_kind,
    filed_time,
    is_late,
    new_computer,
    new_monitor,
    normalised_facts,
    plan,
)
from server.services.records import normalise_serial
from shared.schema import InventoryReport

__all__ = [
    "CLOCK_TOLERANCE", "EARLIEST_BELIEVED", "EDID_PLACEHOLDER_SERIALS", "Delivery", "DuplicateReport", "ForeignMachine",
    "IngestResult", "MonitorIdentity", "Prefetched", "UnplacedDevice", "Via", "device_kind", "filed_time", "ingest",
    "is_conflict", "is_database_error", "is_transient", "monitor_identities", "network_evidence", "normalised_facts",
    "receive", "retryable", "utcnow",
]

_DEVICE = table_of(Device)
_REPORT = table_of(ReceivedReport)
_OBSERVATION = table_of(Observation)
_SIGHTING = table_of(MonitorSighting)
_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


@dataclass(frozen=True)
class Delivery:
    """How a report arrived and on whose behalf."""

    via: Via = "http"
    agent_id: uuid.UUID | None = None
    unit_id: int | None = None  # unit of a device this report creates
    agent_device_id: int | None = None  # device the agent was linked to (offline enrolment creates one)
    signed: bool = True
    imported_by: str | None = None
    # The device row of the report's machine_id when the caller already looked it up (with the agent's key,
    # in one round trip); None: look it up here.
    prefetched: Prefetched | None = None
    agent_machine_id: str | None = None  # the machine the agent is bound to (None: not yet, offline enrolment)
    enrolled_at: datetime | None = None  # the agent's enrolment: nothing it collected can be older

    @property
    def sender(self) -> Sender:
        """What the plan needs of the delivery."""
        return Sender(self.via, self.agent_id, self.signed, self.imported_by, self.enrolled_at)


@dataclass(frozen=True)
class Prefetched:
    """The result of looking the report's machine_id up: a device row, or None for no such device."""

    row: DeviceRow | None


@dataclass(frozen=True)
class IngestResult:
    """What became of one report."""

    status: Literal["accepted", "duplicate"]
    report_id: uuid.UUID
    device_id: int | None
    stored: bool = False  # it added an Observation (its facts differ from the previous one)


class DuplicateReport(Exception):
    """The report was received before; the transaction must be rolled back."""

    def __init__(self, device_id: int | None, *, wrote: bool = False) -> None:
        super().__init__("report already received")
        self.device_id = device_id
        self.wrote = wrote  # this attempt had written rows (a new device) before it knew


class UnplacedDevice(ValueError):
    """A report from an unknown machine that no unit can be assigned to."""


class ForeignMachine(PermissionError):
    """A report for a machine its agent is not bound to (or of another unit); nothing was written."""


def network_evidence(report: InventoryReport) -> tuple[bool | None, bool | None]:
    """(LAN, Wi-Fi) evidence of a report (see ``facts.NetworkEvidence``)."""
    evidence = NetworkEvidence.from_wire(report.network)
    return evidence.lan_evidence, evidence.wifi_evidence


def monitor_identities(report: InventoryReport) -> list[MonitorIdentity]:
    """The report's monitors that can be named, each once, in the report's order."""
    return list(MonitorFacts.from_wire(report.peripherals).identities)


def _check_binding(report: InventoryReport, delivery: Delivery, by_machine: DeviceRow | None) -> None:
    """ForeignMachine unless this delivery may write this machine's device (before anything is written)."""
    if delivery.agent_id is not None and delivery.agent_machine_id not in (None, report.machine_id):
        raise ForeignMachine(f"this agent key belongs to machine {delivery.agent_machine_id!r}: a report of machine "
                             f"{report.machine_id!r} is refused (each PC enrols with its own key)")
    if by_machine is None:
        return
    if delivery.agent_device_id is not None:
        if by_machine.id != delivery.agent_device_id:
            raise ForeignMachine(f"machine {report.machine_id!r} is another device than this agent's")
    elif delivery.unit_id is not None and by_machine.unit_id != delivery.unit_id:
        raise ForeignMachine(f"machine {report.machine_id!r} is a device of another unit: "
                             "only that unit's agents and officers may change it")


_DEVICE_COLS = tuple(_DEVICE.c[name] for name in DeviceRow._fields)


def _device_row(row: Any) -> DeviceRow:
    return DeviceRow(*(row._mapping[name] for name in DeviceRow._fields))


def _match_device(conn: Connection, report: InventoryReport, delivery: Delivery
                  ) -> tuple[DeviceRow | None, int | None]:
    """The device this report is about (by machine_id, then the agent's own device, then a hand-entered asset
    of the unit by serial), and another unit's hand-entered asset with the serial (a possible duplicate)."""
    if delivery.prefetched is not None:
        found = delivery.prefetched.row
    else:
        found = sql.device_by_machine(conn, report.machine_id)
    _check_binding(report, delivery, found)
    if found is not None:
        return found, None
    if delivery.agent_device_id is not None:
        row = conn.execute(sa.select(*_DEVICE_COLS).where(_DEVICE.c.id == delivery.agent_device_id)).first()
        if row is not None and row.machine_id is None:
            return _device_row(row), None  # an offline enrolment's device learns its machine id
        if row is not None and delivery.agent_id is not None:
            # Bound since the delivery was read (the first report of a bundle): the rest must match.
            raise ForeignMachine(f"this agent key belongs to machine {row.machine_id!r}: a report of machine "
                                 f"{report.machine_id!r} is refused (each PC enrols with its own key)")
    serial = normalise_serial(report.hardware.serial)
    if serial is None:
        return None, None
    # A computer entered by hand before its agent came is the same machine: adopted within its unit only. Any
    # other computer with the serial (another unit's, or one with another agent) is only a possible duplicate:
    # the officer decides; an agent can never take a device over by copying its serial.
    by_serial = sql.computer_by_serial(conn, serial, delivery.unit_id)
    if by_serial is None:
        return None, None
    device, adoptable = by_serial
    return (device, None) if adoptable else (None, device.id)


def _current(conn: Connection, report: InventoryReport, delivery: Delivery, now: datetime) -> Current:
    """What the database holds about the report's device; a new machine's device is created here."""
    row, duplicate_of = _match_device(conn, report, delivery)
    if row is None:
        if delivery.unit_id is None:
            raise UnplacedDevice(f"report {report.report_id} is from an unknown machine: name its unit (--unit CODE)")
        filed, _ = filed_time(report.collected_at, now, delivery.enrolled_at)
        new = new_computer(report, delivery.unit_id, filed, duplicate_of)
        device_id = sql.create_device(conn, new)
        return Current(DeviceRow(device_id, new.machine_id, None, None, filed, None, None, new.unit_id),
                       created=True)
    if not is_late(report, row, now, delivery.enrolled_at):
        return Current(row)
    # A late report (spooled, or carried by hand) is compared with what held when it was collected.
    collected, _ = filed_time(report.collected_at, now, delivery.enrolled_at)
    o = _OBSERVATION.c
    previous = conn.execute(
        sa.select(o.id, o.content_hash)
        .where(o.device_id == row.id, o.observed_at <= collected)
        .order_by(o.observed_at.desc(), o.id.desc())
        .limit(1)
    ).first()
    if previous is None:
        return Current(row)
    return Current(row, previous_hash=previous.content_hash, previous_id=previous.id)


def _side_stores(conn: Connection, write: WritePlan, host: DeviceRow, report: InventoryReport,
                 now: datetime) -> tuple[WritePlan, bool]:
    """The one place where a report's side stores are written, before its record; (plan, whether they wrote).

    A store that writes here turns the report's deferral off and, should the report prove a duplicate, makes
    the caller roll its writes back (``DuplicateReport.wrote``). Monitors: each is a device of its own; a set
    the device's cache does not hold is looked up or created here, and their ids go into the sightings.
    Detections: stored once per device and id, with an event when their status changes (``detections.record``),
    for a report whose facts changed (a detection's change changes the facts).
    """
    wrote = False
    if write.monitors is not None and write.monitors.ids is None:
        write = write.with_monitors(_resolve_monitors(conn, host, list(write.monitors.identities), write.filed, now))
        wrote = True
    if write.stored and detections.record(conn, host.id, report, write.filed):
        wrote = True
    return write, wrote


def _resolve_monitors(conn: Connection, host: DeviceRow, identities: list[MonitorIdentity], collected: datetime,
                      now: datetime) -> list[int]:
    """The device ids of a report's monitors: found by EDID identity, else a hand-entered monitor with the same
    serial (adopted), else created in the computer's unit. One seen earlier than recorded is backdated.

    A monitor's unit is not rewritten when it shows up on another computer: the snapshot places a monitor with
    the computer that last showed it (``history.py``), so a move is no correction of past records. Runs only
    when a computer's monitors differ from its previous report's, or for a late report.
    """
    keys = [i.edid_key(host.id) for i in identities]
    serials = sorted({i.serial_key for i in identities if i.serial_key})
    rows = sql.monitors_by_identity(conn, keys, serials)
    by_key = {r.edid_key: r for r in rows if r.edid_key is not None}
    hand_entered: dict[str | None, sql.MonitorRow] = {}
    for r in rows:
        if r.edid_key is None:
            hand_entered.setdefault(r.serial_key, r)
    ids: list[int] = []
    for identity, key in zip(identities, keys, strict=True):
        row = by_key.get(key)
        if row is None and identity.serial_key:
            row = hand_entered.pop(identity.serial_key, None)
            if row is not None:  # the agent's sighting of a hand-entered monitor is the same device
                conn.execute(sa.update(_DEVICE).where(_DEVICE.c.id == row.id).values(edid_key=key))
        if row is None:
            ids.append(sql.create_device(conn, new_monitor(identity, host, min(collected, now))))
            continue
        ids.append(row.id)
        if row.created_at is not None and collected < row.created_at:
            _backdate(conn, row.id, collected)
    return ids


def _keep_next_report(conn: Connection, device_id: int, collected: datetime, previous_id: int) -> None:
    """After a late observation, make sure the report that followed it still shows what it said.

    The next report was not stored if it repeated the observation that held before (``previous_id``); with
    the late observation now between them, the history would wrongly extend the late facts up to it. Store
    that observation again at the next report's time.
    """
    r = _REPORT.c
    following = conn.execute(
        sa.select(r.id, r.report_id, r.collected_at, r.received_at, r.via, r.stored)
        .where(r.device_id == device_id, r.collected_at > collected)
        .order_by(r.collected_at, r.id)
        .limit(1)
    ).first()
    if following is None or following.stored:
        return
    previous = conn.execute(sa.select(_OBSERVATION).where(_OBSERVATION.c.id == previous_id)).one()
    copy = {k: v for k, v in previous._mapping.items() if k != "id"}
    copy.update(observed_at=following.collected_at, received_at=following.received_at,
                report_id=following.report_id, delivered_offline=following.via == "import")
    copy_id = conn.execute(sa.insert(_OBSERVATION).values(**copy).returning(_OBSERVATION.c.id)).scalar_one()
    s = _SIGHTING.c
    conn.execute(sa.insert(_SIGHTING).from_select(
        ["observation_id", "host_id", "monitor_id", "observed_at", "year"],
        sa.select(sa.literal(copy_id), s.host_id, s.monitor_id, sa.literal(following.collected_at, UTCDateTime()),
                  s.year).where(s.observation_id == previous_id),
    ))
    conn.execute(sa.update(_REPORT).where(r.id == following.id).values(stored=True))
    c = _DEVICE.c
    later = sa.or_(c.last_observed_at.is_(None), c.last_observed_at < following.collected_at)
    conn.execute(sa.update(_DEVICE).where(c.id == device_id, later)
                 .values(last_observed_at=following.collected_at, last_hash=previous.content_hash))


def _backdate(conn: Connection, device_id: int, collected: datetime) -> None:
    """A report collected before the device was recorded (offline enrolment, then older spooled reports)
    proves it existed then: its first version starts at the collection instead."""
    v = table_of(DeviceVersion).c
    first = sa.select(sa.func.min(v.id)).where(v.device_id == device_id).scalar_subquery()
    conn.execute(sa.update(table_of(DeviceVersion)).where(v.id == first, v.valid_from > collected)
                 .values(valid_from=collected))
    conn.execute(sa.update(_DEVICE).where(_DEVICE.c.id == device_id).values(created_at=collected))


def ingest(
    conn: Connection, report: InventoryReport, delivery: Delivery, *, now: datetime | None = None
) -> IngestResult:
    """Record ``report`` in the caller's transaction; DuplicateReport (roll back!) when it was seen before."""
    now = now or utcnow()
    current = _current(conn, report, delivery, now)
    write = plan(report, current, delivery.sender, now)
    if write.backdate:
        _backdate(conn, current.device.id, write.filed)
    write, side = _side_stores(conn, write, current.device, report, now)
    wrote = current.created or write.backdate or side
    # The unique report_id decides: a report another transaction recorded first inserts nothing here. A
    # routine report that wrote nothing yet may wait for its batch's executemany: nothing to undo if it proves
    # a duplicate.
    if not sql.execute(conn, write, defer=write.in_order and not wrote):
        raise DuplicateReport(current.device.id, wrote=wrote)
    if write.keep_next and current.previous_id is not None:
        _keep_next_report(conn, current.device.id, write.filed, current.previous_id)
    return IngestResult("accepted", report.report_id, current.device.id, write.stored)


def is_conflict(exc: BaseException) -> bool:
    """A unique or other integrity violation: a concurrent writer got there first, and a retry sees it."""
    return isinstance(exc, IntegrityError)


def is_transient(exc: BaseException) -> bool:
    """A deadlock or serialization failure: the whole transaction must be retried."""
    return isinstance(exc, OperationalError) and getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES


def is_database_error(exc: BaseException) -> bool:
    """Any error the database raised (the transaction may be spoiled)."""
    return isinstance(exc, DBAPIError)


def retryable(exc: BaseException) -> bool:
    """Whether running the transaction again may succeed."""
    return is_conflict(exc) or is_transient(exc)


def receive(
    engine: Engine,
    report: InventoryReport,
    authorize: Callable[[Connection], Delivery],
    *,
    now: datetime | None = None,
    attempts: int = 4,
) -> IngestResult:
    """Authorise and ingest one report in one transaction, retrying races that a retry resolves.

    ``authorize`` runs in the same transaction and raises to refuse (the API raises its 401 there).
    """
    for attempt in range(attempts):
        try:
            with write_lock(engine), writer(engine).begin() as conn:
                return ingest(conn, report, authorize(conn), now=now)
        except DuplicateReport as dup:
            return IngestResult("duplicate", report.report_id, dup.device_id)
        except Exception as exc:
            if attempt == attempts - 1 or not retryable(exc):
                raise
    raise AssertionError("unreachable")
