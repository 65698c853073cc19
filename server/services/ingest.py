"""Ingest one report: find its device, record it once, keep history only when facts changed.

``receive`` runs one report in one transaction (imports, tests); the API batches reports through
``ingest_writer``, one savepoint each. Routine statements are plain SQL in ``ingest_sql``.
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

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

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
from server.services.records import normalise_serial, save_device
from server.services.state import COMPUTER_KINDS
from shared.schema import InventoryReport

Via = Literal["http", "import"]

_DEVICE = table_of(Device)
_REPORT = table_of(ReceivedReport)
_OBSERVATION = table_of(Observation)
_SIGHTING = table_of(MonitorSighting)

# Facts that change on every collection without saying anything about the machine's state.
_VOLATILE: dict[str, Any] = {
    "report_id": True,
    "collected_at": True,
    "schema_version": True,
    "os": {"last_boot"},
    "network": {"internet": {"latency_ms", "checked_at"}},
}
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


@dataclass(frozen=True)
class Prefetched:
    """The result of looking the report's machine_id up: a device row, or None for no such device."""

    row: sql.DeviceRow | None


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


#: No agent's clock is believed before this (dead CMOS batteries report 2000 or 2009, some 1970).
EARLIEST_BELIEVED = datetime(2000, 1, 1, tzinfo=timezone.utc)
#: How far a PC's clock may run off the server's before it is called wrong.
CLOCK_TOLERANCE = timedelta(days=1)


def filed_time(claimed: datetime, now: datetime, enrolled_at: datetime | None) -> tuple[datetime, bool]:
    """When a report is filed, and whether the PC's clock is wrong.

    A claim after the enrolment (less a day of tolerated skew) and at most a day after receipt is believed, up
    to the receipt time (a legitimately late report keeps its date); anything else is filed at receipt.
    """
    floor = EARLIEST_BELIEVED
    if enrolled_at is not None:
        floor = max(floor, enrolled_at - CLOCK_TOLERANCE)
    if claimed < floor or claimed > now + CLOCK_TOLERANCE:
        return now, True
    return min(claimed, now), False


def normalised_facts(report: InventoryReport) -> tuple[str, str]:
    """The report's facts as JSON without volatile fields, and its SHA-256.

    The field order is the model's, fixed for a schema version, so equal facts give equal text.
    """
    text = report.model_dump_json(exclude=_VOLATILE)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def device_kind(report: InventoryReport) -> str:
    """The asset kind of a reporting computer."""
    if report.os.is_server:
        return "server"
    chassis = report.hardware.chassis
    if chassis in ("desktop", "laptop", "server"):
        return chassis
    # A virtual machine is not a physical asset: it must not count as a computer in the staff figures.
    return "other" if chassis == "virtual" else "desktop"


def network_evidence(report: InventoryReport) -> tuple[bool | None, bool | None]:
    """(LAN, Wi-Fi) evidence of a report: an up ethernet interface with an IPv4 address while a default
    gateway is known, and an up Wi-Fi interface; (None, None) when the report lists no interfaces."""
    interfaces = report.network.interfaces
    if not interfaces:
        return None, None
    lan = bool(report.network.default_gateway) and any(
        i.kind == "ethernet" and i.is_up is True and bool(i.ipv4) for i in interfaces
    )
    wifi = any(i.kind == "wifi" and i.is_up is True for i in interfaces)
    return lan, wifi


@dataclass(frozen=True)
class MonitorIdentity:
    """What names one monitor of a report.

    With a usable EDID serial, the key is ``MANUFACTURER|SERIAL``: the same monitor on another computer is the
    same device. Without one (blank, or a placeholder like ``0``), nothing tells two monitors of one model
    apart, so the key is the host computer plus manufacturer, model and the monitor's rank among its identical
    twins on that computer: ``host:<id>|MANUFACTURER|MODEL|<n>``; such a monitor moved to another computer
    becomes a new device there. A monitor without serial, manufacturer and model is not recorded.
    """

    key: str  # without the host part for serial-less monitors: see edid_key
    serial_key: str | None
    manufacturer: str | None
    model: str | None
    serial: str | None
    year: int | None

    def edid_key(self, host_id: int) -> str:
        """The device's ``edid_key``."""
        return self.key if self.serial_key else f"host:{host_id}|{self.key}"


#: Serial numbers monitor makers leave in the EDID of a whole model (0x01010101 and its byte patterns).
EDID_PLACEHOLDER_SERIALS = frozenset({"16843009", "01010101", "0X01010101", "33686018", "50529027"})


def monitor_identities(report: InventoryReport) -> list[MonitorIdentity]:
    """The report's monitors that can be named, each once, in the report's order."""
    found: dict[str, MonitorIdentity] = {}
    ranks: dict[str, int] = {}
    for m in report.peripherals.monitors:
        maker = " ".join((m.manufacturer or "").split()).upper()
        model = " ".join((m.model or "").split())
        serial_key = normalise_serial(m.serial)
        if serial_key in EDID_PLACEHOLDER_SERIALS:
            serial_key = None
        if serial_key:
            key = f"{maker}|{serial_key}"
        elif maker or model:
            twin = f"{maker}|{model.upper()}"
            ranks[twin] = ranks.get(twin, 0) + 1
            key = f"{twin}|{ranks[twin]}"
        else:
            continue
        if key not in found:
            found[key] = MonitorIdentity(key, serial_key, maker or None, model or None, m.serial,
                                         m.year_of_manufacture)
    return list(found.values())


def monitors_key(identities: list[MonitorIdentity]) -> str | None:
    """The hash a computer's row keeps of its monitors' identities (None: no monitor)."""
    if not identities:
        return None
    return hashlib.sha256("\n".join(sorted(i.key for i in identities)).encode("utf-8")).hexdigest()


def _observation_columns(report: InventoryReport) -> dict[str, Any]:
    hw, os_ = report.hardware, report.os
    lan, wifi = network_evidence(report)
    years = [m.year_of_manufacture for m in report.peripherals.monitors if m.year_of_manufacture]
    antivirus = [
        {
            "name": av.name,
            "enabled": av.enabled,
            "up_to_date": av.up_to_date,
            "signatures_updated_at": av.signatures_updated_at.isoformat() if av.signatures_updated_at else None,
            "source": av.source,
            "licence_problem": av.licence_problem,
            # The product's own licence facts, only when it gave them (older observations lack the keys).
            **({"licence_expires": av.licence_expires.isoformat()} if av.licence_expires else {}),
            **({"licence_type": av.licence_type} if av.licence_type else {}),
        }
        for av in report.antivirus
    ]
    return {
        "hostname": report.hostname,
        "platform": report.platform,
        "chassis": hw.chassis,
        "vendor": hw.vendor,
        "model": hw.model,
        "serial": hw.serial,
        "cpu_model": hw.cpu_model,
        "bios_date": hw.bios_date,
        "os_name": os_.name,
        "os_version": os_.version,
        "os_build": os_.build,
        "os_install_date": os_.install_date,
        "monitor_year": min(years) if years else None,
        "firewall_enabled": report.firewall.enabled,
        "internet_reachable": report.network.internet.reachable,
        "lan_evidence": lan,
        "wifi_evidence": wifi,
        "antivirus": json.dumps(antivirus, sort_keys=True),
    }


_DEVICE_COLS = (
    _DEVICE.c.id, _DEVICE.c.machine_id, _DEVICE.c.last_hash, _DEVICE.c.last_seen, _DEVICE.c.created_at,
    _DEVICE.c.monitor_key, _DEVICE.c.monitor_ids, _DEVICE.c.unit_id,
)


def _check_binding(report: InventoryReport, delivery: Delivery, by_machine: sql.DeviceRow | None) -> None:
    """ForeignMachine unless this delivery may write this machine's device (before anything is written)."""
    if delivery.agent_id is not None and delivery.agent_machine_id not in (None, report.machine_id):
        raise ForeignMachine(f"this agent key belongs to machine {delivery.agent_machine_id!r}: a report of machine "
                             f"{report.machine_id!r} is refused (each PC enrols with its own key)")
    if by_machine is None:
        return
    if delivery.agent_device_id is not None:
        if by_machine[0] != delivery.agent_device_id:
            raise ForeignMachine(f"machine {report.machine_id!r} is another device than this agent's")
    elif delivery.unit_id is not None and by_machine[7] != delivery.unit_id:
        raise ForeignMachine(f"machine {report.machine_id!r} is a device of another unit: "
                             "only that unit's agents and officers may change it")


def _match_device(conn: Connection, report: InventoryReport, delivery: Delivery
                  ) -> tuple[tuple[Any, ...] | None, int | None]:
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
            return tuple(row), None  # an offline enrolment's device learns its machine id
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
    c = _DEVICE.c
    adoptable = sa.and_(c.machine_id.is_(None), c.unit_id == delivery.unit_id)
    row = conn.execute(
        sa.select(*_DEVICE_COLS, adoptable.label("adoptable"))
        .where(c.serial_key == serial, c.kind.in_(sorted(COMPUTER_KINDS)))
        .order_by(adoptable.desc(), c.id)
        .limit(1)
    ).first()
    if row is None:
        return None, None
    if not row.adoptable:
        return None, row.id
    return tuple(row)[:-1], None


def _create_device(conn: Connection, report: InventoryReport, delivery: Delivery, filed: datetime,
                   duplicate_of: int | None = None) -> int:
    if delivery.unit_id is None:
        raise UnplacedDevice(f"report {report.report_id} is from an unknown machine: name its unit (--unit CODE)")
    hw = report.hardware
    device = Device(
        unit_id=delivery.unit_id, kind=device_kind(report), name=report.hostname, vendor=hw.vendor, model=hw.model,
        serial=hw.serial, machine_id=report.machine_id, serial_key=normalise_serial(hw.serial),
        hostname=report.hostname, possible_duplicate_of=duplicate_of,
    )
    # The session works in a savepoint of the caller's transaction: the device and its version commit with
    # it, and a failed flush (another process created the device) leaves the rest of the transaction alive.
    with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
        # The device existed when the report was collected, even if the report arrives days later by hand.
        save_device(session, device, filed)
        session.flush()
        assert device.id is not None
        device_id = device.id
        session.commit()  # releases the savepoint only; the caller's transaction goes on
    return device_id


def _resolve_monitors(conn: Connection, host_id: int, identities: list[MonitorIdentity], collected: datetime,
                      now: datetime) -> list[int]:
    """The device ids of a report's monitors: found by EDID identity, else a hand-entered monitor with the same
    serial (adopted), else created in the computer's unit. One seen earlier than recorded is backdated.

    A monitor's unit is not rewritten when it shows up on another computer: the snapshot places a monitor with
    the computer that last showed it (``history.py``), so a move is no correction of past records. Runs only
    when a computer's monitors differ from its previous report's, or for a late report.
    """
    c = _DEVICE.c
    keys = [i.edid_key(host_id) for i in identities]
    found = {r.edid_key: r for r in conn.execute(sa.select(c.id, c.edid_key, c.created_at).where(c.edid_key.in_(keys)))}
    ids: list[int] = []
    with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
        for identity, key in zip(identities, keys, strict=True):
            row = found.get(key)
            if row is None and identity.serial_key:
                row = conn.execute(
                    sa.select(c.id, c.edid_key, c.created_at)
                    .where(c.kind == "monitor", c.serial_key == identity.serial_key, c.edid_key.is_(None))
                    .order_by(c.id).limit(1)
                ).first()
            if row is None:
                host_unit = conn.execute(sa.select(c.unit_id).where(c.id == host_id)).scalar_one()
                device = Device(unit_id=host_unit, kind="monitor", vendor=identity.manufacturer, model=identity.model,
                                serial=identity.serial, serial_key=identity.serial_key, edid_key=key)
                save_device(session, device, min(collected, now))
                session.flush()
                assert device.id is not None
                ids.append(device.id)
                continue
            ids.append(row.id)
            if row.edid_key is None:  # a hand-entered monitor: the agent's sighting is the same device
                monitor = session.get(Device, row.id)
                assert monitor is not None
                monitor.edid_key = key
                session.add(monitor)
                session.flush()
            if row.created_at is not None and collected < row.created_at:
                _backdate(conn, row.id, collected)
        session.commit()  # releases the savepoint only
    return ids


def _keep_next_report(conn: Connection, device_id: int, collected: datetime, previous: Row[Any]) -> None:
    """After a late observation, make sure the report that followed it still shows what it said.

    The next report was not stored if it repeated ``previous``; with the late observation now between
    them, the history would wrongly extend the late facts up to it. Store ``previous`` again at its time.
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
    copy = {k: v for k, v in previous._mapping.items() if k != "id"}
    copy.update(observed_at=following.collected_at, received_at=following.received_at,
                report_id=following.report_id, delivered_offline=following.via == "import")
    copy_id = conn.execute(sa.insert(_OBSERVATION).values(**copy).returning(_OBSERVATION.c.id)).scalar_one()
    s = _SIGHTING.c
    conn.execute(sa.insert(_SIGHTING).from_select(
        ["observation_id", "host_id", "monitor_id", "observed_at", "year"],
        sa.select(sa.literal(copy_id), s.host_id, s.monitor_id, sa.literal(following.collected_at, UTCDateTime()),
                  s.year).where(s.observation_id == previous.id),
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
    collected, clock_wrong = filed_time(report.collected_at, now, delivery.enrolled_at)
    claim = report.collected_at.isoformat() if collected != report.collected_at else None
    row, duplicate_of = _match_device(conn, report, delivery)
    wrote = row is None
    if row is None:
        device_id = _create_device(conn, report, delivery, collected, duplicate_of)
        machine_id, last_hash, last_seen, monitor_key, monitor_ids = report.machine_id, None, None, None, None
    else:
        device_id, machine_id, last_hash, last_seen, created_at, monitor_key, monitor_ids, _unit = row
        if created_at is not None and collected < created_at:
            _backdate(conn, device_id, collected)
            wrote = True
    text, digest = normalised_facts(report)
    if clock_wrong:  # a change of the clock's state is a change of the PC's state: stored as one
        digest = hashlib.sha256(f"{text}\nclock_wrong".encode()).hexdigest()
    # In order means after every report so far, not only after the last stored one: a report between
    # the last observation and a later unchanged report is late, and must not cover that report's facts.
    in_order = last_seen is None or collected >= last_seen
    previous = None
    if not in_order:
        # A late report (spooled, or carried by hand) is compared with what held when it was collected.
        previous = conn.execute(
            sa.select(_OBSERVATION)
            .where(_OBSERVATION.c.device_id == device_id, _OBSERVATION.c.observed_at <= collected)
            .order_by(_OBSERVATION.c.observed_at.desc(), _OBSERVATION.c.id.desc())
            .limit(1)
        ).first()
        last_hash = previous.content_hash if previous is not None else None
    stored = last_hash != digest
    observation = None
    sightings: list[tuple[int, int | None]] = []
    monitors: tuple[str | None, str | None] = (None, None)
    if stored:
        identities = monitor_identities(report)
        key = monitors_key(identities)
        if identities:
            if in_order and key == monitor_key and monitor_ids:  # the same monitors as before: no lookup
                ids = [int(n) for n in monitor_ids.split(",")]
            else:
                ids = _resolve_monitors(conn, device_id, identities, collected, now)
                wrote = True
            sightings = [(monitor, identity.year) for monitor, identity in zip(ids, identities, strict=True)]
            monitors = (key, ",".join(str(n) for n in ids))
        observation = {
            "device_id": device_id, "observed_at": collected, "received_at": now, "report_id": report.report_id,
            "delivered_offline": delivery.via == "import", "content_hash": digest, "facts": text,
            "clock_wrong": clock_wrong, "claimed_collected_at": claim, **_observation_columns(report),
        }
        wrote = detections.record(conn, device_id, report, collected, observation) or wrote
    # The unique report_id decides: a report another transaction recorded first inserts nothing here.
    recorded = sql.record_report(
        conn,
        {
            "report_id": report.report_id, "device_id": device_id, "agent_id": delivery.agent_id,
            "collected_at": collected, "received_at": now, "via": delivery.via, "signed": delivery.signed,
            "imported_by": delivery.imported_by, "stored": stored, "claimed_collected_at": claim,
        },
        collected=collected,
        machine=report.machine_id if machine_id != report.machine_id else None,
        bios=report.hardware.bios_date,
        hostname=report.hostname if in_order and report.hostname else None,
        digest=digest if stored and in_order else None,
        agent_id=delivery.agent_id, now=now, machine_id=report.machine_id,
        observation=observation, sightings=sightings, monitors=monitors,
        defer=in_order and not wrote,  # a routine report: nothing to undo if it proves a duplicate
    )
    if not recorded:
        raise DuplicateReport(device_id, wrote=wrote)
    if stored and not in_order and previous is not None:
        _keep_next_report(conn, device_id, collected, previous)
    return IngestResult("accepted", report.report_id, device_id, stored)


def _driver_error(exc: BaseException) -> BaseException:
    # The hot path's statements run on the driver's cursor, so its errors arrive unwrapped.
    return exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc


def is_conflict(exc: BaseException) -> bool:
    """A unique or other integrity violation: a concurrent writer got there first, and a retry sees it."""
    orig = _driver_error(exc)
    return isinstance(exc, IntegrityError) or isinstance(orig, sqlite3.IntegrityError) or (
        str(getattr(orig, "sqlstate", "") or "").startswith("23")
    )


def is_transient(exc: BaseException) -> bool:
    """A deadlock or serialization failure: the whole transaction must be retried."""
    return getattr(_driver_error(exc), "sqlstate", None) in _RETRY_SQLSTATES


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
