"""What one report changes, decided once and without a database: ``plan(report, current, delivery, now)``.

The caller reads what the database holds (``Current``: the device's row, and for a late report the hash of
the observation that held when it was collected); ``plan`` decides everything else: the filed time and
whether the PC's clock is wrong, whether the facts changed (an observation is stored), which of the device's
"latest" columns the report moves, whether the device must be backdated, whether the monitors can be taken
from the device's cache. An executor (``ingest_sql.execute``) carries the plan out and decides nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal, NamedTuple

from server.models import Device, table_of
from server.services.facts import MonitorFacts, MonitorIdentity, ObservationFacts
from server.services.records import normalise_serial
from server.vocab import COMPUTER_KINDS
from shared.schema import InventoryReport

Via = Literal["http", "import"]

#: No agent's clock is believed before this (dead CMOS batteries report 2000 or 2009, some 1970).
EARLIEST_BELIEVED = datetime(2000, 1, 1, tzinfo=timezone.utc)
#: How far a PC's clock may run off the server's before it is called wrong.
CLOCK_TOLERANCE = timedelta(days=1)

# Facts that change on every collection without saying anything about the machine's state.
_VOLATILE: dict[str, Any] = {
    "report_id": True,
    "collected_at": True,
    "schema_version": True,
    "os": {"last_boot"},
    "network": {"internet": {"latency_ms", "checked_at"}},
}


class DeviceRow(NamedTuple):
    """What ingest reads of a device: its identity, its "latest" columns and its monitors' cache."""

    id: int
    machine_id: str | None
    last_hash: str | None
    last_seen: datetime | None
    created_at: datetime | None
    monitor_key: str | None
    monitor_ids: str | None
    unit_id: int


class Sender(NamedTuple):
    """How a report arrived and on whose behalf (the part of ``ingest.Delivery`` the plan needs)."""

    via: Via
    agent_id: uuid.UUID | None
    signed: bool
    imported_by: str | None
    enrolled_at: datetime | None


@dataclass(frozen=True)
class Current:
    """What the database holds about the report's device before it is written."""

    device: DeviceRow
    created: bool = False  # the device was created for this report
    previous_hash: str | None = None  # late report: hash of the observation that held at its collection
    previous_id: int | None = None  # and that observation's id (None: none held then)


class NewDevice(NamedTuple):
    """A device to create: a reporting computer, or a monitor one of them shows."""

    unit_id: int
    kind: str
    name: str | None
    vendor: str | None
    model: str | None
    serial: str | None
    serial_key: str | None
    machine_id: str | None
    hostname: str | None
    edid_key: str | None
    possible_duplicate_of: int | None
    at: datetime  # when it is known to exist: its creation and its first version's start


class ReportRow(NamedTuple):
    """The ``received_report`` row (names are its columns)."""

    report_id: uuid.UUID
    device_id: int
    agent_id: uuid.UUID | None
    collected_at: datetime
    received_at: datetime
    via: str
    signed: bool
    imported_by: str | None
    stored: bool
    claimed_collected_at: str | None


class DeviceUpdate(NamedTuple):
    """What the report moves forward on its device; None leaves a column as is. Each "latest" column is
    still compared with the row's value by SQL, so concurrent reports can never move it backwards."""

    device_id: int
    collected: datetime
    machine: str | None  # learns its machine id (an offline enrolment's device)
    bios: date | None
    hostname: str | None
    digest: str | None  # with monitor_key and monitor_ids: the latest observation's, when it moves
    monitor_key: str | None
    monitor_ids: str | None


class AgentUpdate(NamedTuple):
    """The agent's last contact and the device and machine it is bound to."""

    agent_id: uuid.UUID
    now: datetime
    device_id: int
    machine_id: str


class Sighting(NamedTuple):
    """A monitor shown by a stored observation."""

    monitor_id: int
    year: int | None


class ObservationRow(NamedTuple):
    """An ``observation`` row: the record's bookkeeping and its ``ObservationFacts``."""

    device_id: int
    observed_at: datetime
    received_at: datetime
    report_id: uuid.UUID
    delivered_offline: bool
    content_hash: str
    facts: str
    claimed_collected_at: str | None
    record: ObservationFacts

    def values(self) -> dict[str, Any]:
        """Column name -> value, every column but the id."""
        out = self._asdict()
        del out["record"]
        out.update(self.record.columns())
        return out


@dataclass(frozen=True)
class MonitorPlan:
    """The monitors of a stored observation: taken from the device's cache, or looked up (``ids`` None)."""

    facts: MonitorFacts
    ids: tuple[int, ...] | None

    @property
    def identities(self) -> tuple[MonitorIdentity, ...]:
        """Each monitor's identity, in the report's order."""
        return self.facts.identities


@dataclass(frozen=True)
class WritePlan:
    """Everything one report writes, decided before anything is."""

    filed: datetime
    clock_wrong: bool
    in_order: bool  # after every report so far of its device (else late: compared with what held then)
    report: ReportRow
    device: DeviceUpdate
    agent: AgentUpdate | None
    observation: ObservationRow | None  # None: the facts equal the previous observation's
    monitors: MonitorPlan | None  # the stored observation's monitors (None: not stored, or none)
    sightings: tuple[Sighting, ...]
    backdate: bool  # collected before the device was recorded: its first version starts earlier
    keep_next: bool  # a late observation: the report after it must still show what it said

    @property
    def stored(self) -> bool:
        """The report adds an observation."""
        return self.observation is not None

    def with_monitors(self, ids: list[int]) -> WritePlan:
        """The plan once the monitors' device ids are known (same order as their identities)."""
        assert self.monitors is not None
        identities = self.monitors.identities
        sightings = tuple(Sighting(m, i.year) for m, i in zip(ids, identities, strict=True))
        device = self.device
        if device.digest is not None:
            device = device._replace(monitor_ids=",".join(str(n) for n in ids))
        return replace(self, monitors=replace(self.monitors, ids=tuple(ids)), sightings=sightings, device=device)


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
    if chassis is not None and chassis in COMPUTER_KINDS:
        return chassis
    # A virtual machine is not a physical asset: it must not count as a computer in the staff figures.
    return "other" if chassis == "virtual" else "desktop"


#: The device's name is its hostname at first, cut to the name column (a hostname may be longer).
NAME_LENGTH: int = table_of(Device).c.name.type.length  # type: ignore[attr-defined]


def new_computer(report: InventoryReport, unit_id: int, filed: datetime, duplicate_of: int | None) -> NewDevice:
    """The device a report of an unknown machine creates; it existed when the report was collected."""
    hw = report.hardware
    name = report.hostname[:NAME_LENGTH] if report.hostname else None
    return NewDevice(unit_id=unit_id, kind=device_kind(report), name=name, vendor=hw.vendor,
                     model=hw.model, serial=hw.serial, serial_key=normalise_serial(hw.serial),
                     machine_id=report.machine_id, hostname=report.hostname, edid_key=None,
                     possible_duplicate_of=duplicate_of, at=filed)


def new_monitor(identity: MonitorIdentity, host: DeviceRow, at: datetime) -> NewDevice:
    """The device of a monitor first seen on ``host``, in the host's unit."""
    return NewDevice(unit_id=host.unit_id, kind="monitor", name=None, vendor=identity.manufacturer,
                     model=identity.model, serial=identity.serial, serial_key=identity.serial_key, machine_id=None,
                     hostname=None, edid_key=identity.edid_key(host.id), possible_duplicate_of=None, at=at)


def is_late(report: InventoryReport, device: DeviceRow, now: datetime, enrolled_at: datetime | None) -> bool:
    """Whether the report was collected before its device's latest report (its previous state is then read)."""
    collected, _ = filed_time(report.collected_at, now, enrolled_at)
    return device.last_seen is not None and collected < device.last_seen


def plan(report: InventoryReport, current: Current, sender: Sender, now: datetime) -> WritePlan:
    """What ``report`` changes, given what the database holds (``current``)."""
    device = current.device
    collected, clock_wrong = filed_time(report.collected_at, now, sender.enrolled_at)
    claim = report.collected_at.isoformat() if collected != report.collected_at else None
    text, digest = normalised_facts(report)
    if clock_wrong:  # a change of the clock's state is a change of the PC's state: stored as one
        digest = hashlib.sha256(f"{text}\nclock_wrong".encode()).hexdigest()
    # In order means after every report so far, not only after the last stored one: a report between
    # the last observation and a later unchanged report is late, and must not cover that report's facts.
    in_order = device.last_seen is None or collected >= device.last_seen
    last_hash = device.last_hash if in_order else current.previous_hash
    stored = last_hash != digest
    observation = None
    monitors = None
    monitor_key = None
    if stored:
        facts = MonitorFacts.from_wire(report.peripherals)
        monitor_key = facts.key
        if facts.identities:
            cached = in_order and monitor_key == device.monitor_key and device.monitor_ids
            ids = tuple(int(n) for n in device.monitor_ids.split(",")) if cached and device.monitor_ids else None
            monitors = MonitorPlan(facts, ids)
        observation = ObservationRow(
            device_id=device.id, observed_at=collected, received_at=now, report_id=report.report_id,
            delivered_offline=sender.via == "import", content_hash=digest, facts=text, claimed_collected_at=claim,
            record=ObservationFacts.from_report(report, clock_wrong=clock_wrong, monitors=facts),
        )
    moves_latest = stored and in_order
    update = DeviceUpdate(
        device_id=device.id, collected=collected,
        machine=report.machine_id if device.machine_id != report.machine_id else None,
        bios=report.hardware.bios_date,
        hostname=report.hostname if in_order and report.hostname else None,
        digest=digest if moves_latest else None,
        monitor_key=monitor_key if moves_latest else None,
        monitor_ids=None,
    )
    agent = None
    if sender.agent_id is not None:
        agent = AgentUpdate(sender.agent_id, now, device.id, report.machine_id)
    result = WritePlan(
        filed=collected, clock_wrong=clock_wrong, in_order=in_order,
        report=ReportRow(report_id=report.report_id, device_id=device.id, agent_id=sender.agent_id,
                         collected_at=collected, received_at=now, via=sender.via, signed=sender.signed,
                         imported_by=sender.imported_by, stored=stored, claimed_collected_at=claim),
        device=update, agent=agent, observation=observation, monitors=monitors, sightings=(),
        backdate=not current.created and device.created_at is not None and collected < device.created_at,
        keep_next=stored and not in_order and current.previous_id is not None,
    )
    if monitors is not None and monitors.ids is not None:
        result = result.with_monitors(list(monitors.ids))
    return result
