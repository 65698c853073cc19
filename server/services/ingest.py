"""Ingest one report: find its device, record it once, keep history only when facts changed.

One report is one transaction. De-duplication rests on the unique ``received_report.report_id``: the insert
is ``ON CONFLICT DO NOTHING``, so when several server processes receive the same report at once exactly one
counts it and the others answer ``duplicate`` after rolling back. Counters and "latest" columns on the
device are updated by SQL expressions, never from values read earlier, so concurrent reports for one device
cannot lose an update. A new machine seen by two processes at once trips the unique ``device.machine_id``;
the loser retries and then finds the device.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from server.db import writing
from server.models import Agent, Device, DeviceVersion, Observation, ReceivedReport, table_of, utcnow
from server.services.records import normalise_serial, save_device
from server.services.state import COMPUTER_KINDS
from shared.schema import InventoryReport

Via = Literal["http", "import"]

_DEVICE = table_of(Device)
_REPORT = table_of(ReceivedReport)
_OBSERVATION = table_of(Observation)
_AGENT = table_of(Agent)

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


@dataclass(frozen=True)
class IngestResult:
    """What became of one report."""

    status: Literal["accepted", "duplicate"]
    report_id: uuid.UUID
    device_id: int | None
    stored: bool = False  # it added an Observation (its facts differ from the previous one)


class DuplicateReport(Exception):
    """The report was received before; the transaction must be rolled back."""

    def __init__(self, device_id: int | None) -> None:
        super().__init__("report already received")
        self.device_id = device_id


class UnplacedDevice(ValueError):
    """A report from an unknown machine that no unit can be assigned to."""


def normalised_facts(report: InventoryReport) -> tuple[str, str]:
    """The report's facts as canonical JSON without volatile fields, and its SHA-256."""
    data = report.model_dump(mode="json", exclude=_VOLATILE)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
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


def _observation_columns(report: InventoryReport) -> dict[str, Any]:
    hw, os_ = report.hardware, report.os
    years = [m.year_of_manufacture for m in report.peripherals.monitors if m.year_of_manufacture]
    antivirus = [
        {
            "name": av.name,
            "enabled": av.enabled,
            "up_to_date": av.up_to_date,
            "signatures_updated_at": av.signatures_updated_at.isoformat() if av.signatures_updated_at else None,
            "source": av.source,
            "licence_problem": av.licence_problem,
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
        "antivirus": json.dumps(antivirus, sort_keys=True),
    }


_DEVICE_COLS = (
    _DEVICE.c.id, _DEVICE.c.machine_id, _DEVICE.c.last_hash, _DEVICE.c.last_observed_at, _DEVICE.c.created_at
)


def _match_device(session: Session, report: InventoryReport, delivery: Delivery) -> Row[Any] | None:
    """The device this report is about: by machine_id, then the agent's own device, then by serial."""
    row = session.execute(sa.select(*_DEVICE_COLS).where(_DEVICE.c.machine_id == report.machine_id)).first()
    if row is not None:
        return row
    if delivery.agent_device_id is not None:
        row = session.execute(
            sa.select(*_DEVICE_COLS).where(_DEVICE.c.id == delivery.agent_device_id, _DEVICE.c.machine_id.is_(None))
        ).first()
        if row is not None:
            return row
    serial = normalise_serial(report.hardware.serial)
    if serial is None:
        return None
    # A reinstalled agent may come with a new generated machine id; the serial still names the machine.
    return session.execute(
        sa.select(*_DEVICE_COLS)
        .where(_DEVICE.c.serial_key == serial, _DEVICE.c.kind.in_(sorted(COMPUTER_KINDS)))
        .order_by(_DEVICE.c.machine_id.is_(None).desc(), _DEVICE.c.id)
        .limit(1)
    ).first()


def _create_device(session: Session, report: InventoryReport, delivery: Delivery, now: datetime) -> int:
    if delivery.unit_id is None:
        raise UnplacedDevice(f"report {report.report_id} is from an unknown machine: name its unit (--unit CODE)")
    hw = report.hardware
    device = Device(
        unit_id=delivery.unit_id, kind=device_kind(report), name=report.hostname, vendor=hw.vendor, model=hw.model,
        serial=hw.serial, machine_id=report.machine_id, serial_key=normalise_serial(hw.serial),
        hostname=report.hostname,
    )
    # The device existed when the report was collected, even if the report arrives days later on a USB stick.
    save_device(session, device, min(report.collected_at, now))
    assert device.id is not None
    return device.id


def _backdate(session: Session, device_id: int, collected: datetime) -> None:
    """A report collected before the device was recorded (offline enrolment, then older spooled reports)
    proves it existed then: its first version starts at the collection instead."""
    v = table_of(DeviceVersion).c
    first = sa.select(sa.func.min(v.id)).where(v.device_id == device_id).scalar_subquery()
    session.execute(sa.update(table_of(DeviceVersion)).where(v.id == first, v.valid_from > collected)
                    .values(valid_from=collected))
    session.execute(sa.update(_DEVICE).where(_DEVICE.c.id == device_id).values(created_at=collected))


def _latest(column: sa.ColumnElement[Any], value: Any) -> sa.ColumnElement[Any]:
    return sa.case((sa.or_(column.is_(None), column < value), value), else_=column)


def _earliest(column: sa.ColumnElement[Any], value: Any) -> sa.ColumnElement[Any]:
    return sa.case((sa.or_(column.is_(None), column > value), value), else_=column)


def _insert(session: Session, table: sa.Table) -> Any:
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def ingest(
    session: Session, report: InventoryReport, delivery: Delivery, *, now: datetime | None = None
) -> IngestResult:
    """Record ``report`` in the caller's transaction; DuplicateReport (roll back!) when it was seen before."""
    now = now or utcnow()
    seen = session.execute(sa.select(_REPORT.c.device_id).where(_REPORT.c.report_id == report.report_id)).first()
    if seen is not None:
        raise DuplicateReport(seen[0])
    collected = report.collected_at
    row = _match_device(session, report, delivery)
    if row is None:
        device_id = _create_device(session, report, delivery, now)
        machine_id, last_hash, last_observed = report.machine_id, None, None
    else:
        device_id, machine_id, last_hash, last_observed, created_at = tuple(row)
        if created_at is not None and collected < created_at:
            _backdate(session, device_id, collected)
    text, digest = normalised_facts(report)
    in_order = last_observed is None or collected >= last_observed
    if not in_order:
        # A late report (spooled, or carried by hand) is compared with what held when it was collected.
        last_hash = session.execute(
            sa.select(_OBSERVATION.c.content_hash)
            .where(_OBSERVATION.c.device_id == device_id, _OBSERVATION.c.observed_at <= collected)
            .order_by(_OBSERVATION.c.observed_at.desc(), _OBSERVATION.c.id.desc())
            .limit(1)
        ).scalar()
    stored = last_hash != digest
    inserted = session.execute(
        _insert(session, _REPORT)
        .values(
            report_id=report.report_id, device_id=device_id, agent_id=delivery.agent_id, collected_at=collected,
            received_at=now, via=delivery.via, signed=delivery.signed, imported_by=delivery.imported_by, stored=stored,
        )
        .on_conflict_do_nothing(index_elements=["report_id"])
        .returning(_REPORT.c.id)
    ).first()
    if inserted is None:  # another process recorded it between our check and our insert
        raise DuplicateReport(device_id)
    if stored:
        session.execute(
            sa.insert(_OBSERVATION).values(
                device_id=device_id, observed_at=collected, received_at=now, report_id=report.report_id,
                delivered_offline=delivery.via == "import", content_hash=digest, facts=text,
                **_observation_columns(report),
            )
        )
    c = _DEVICE.c
    values: dict[str, Any] = {
        "reports_received": c.reports_received + 1,
        "last_seen": _latest(c.last_seen, collected),
        "first_seen": _earliest(c.first_seen, collected),
    }
    if machine_id != report.machine_id:
        values["machine_id"] = report.machine_id
    if report.hardware.bios_date is not None:
        values["earliest_bios_date"] = _earliest(c.earliest_bios_date, report.hardware.bios_date)
    if in_order and report.hostname:
        newer = sa.or_(c.last_seen.is_(None), c.last_seen <= collected)
        values["hostname"] = sa.case((newer, report.hostname), else_=c.hostname)
    if stored and in_order:
        newer = sa.or_(c.last_observed_at.is_(None), c.last_observed_at <= collected)
        values["last_hash"] = sa.case((newer, digest), else_=c.last_hash)
        values["last_observed_at"] = _latest(c.last_observed_at, collected)
    session.execute(sa.update(_DEVICE).where(c.id == device_id).values(**values))
    if delivery.agent_id is not None:
        session.execute(
            sa.update(_AGENT)
            .where(_AGENT.c.id == delivery.agent_id)
            .values(last_seen=now, device_id=device_id, machine_id=report.machine_id)
        )
    return IngestResult("accepted", report.report_id, device_id, stored)


def _retryable(exc: DBAPIError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES


def receive(
    engine: Engine,
    report: InventoryReport,
    authorize: Callable[[Session], Delivery],
    *,
    now: datetime | None = None,
    attempts: int = 4,
) -> IngestResult:
    """Authorise and ingest one report in one transaction, retrying races that a retry resolves."""
    for attempt in range(attempts):
        try:
            with writing(engine) as session:
                return ingest(session, report, authorize(session), now=now)
        except DuplicateReport as dup:
            return IngestResult("duplicate", report.report_id, dup.device_id)
        except DBAPIError as exc:
            if attempt == attempts - 1 or not _retryable(exc):
                raise
    raise AssertionError("unreachable")
