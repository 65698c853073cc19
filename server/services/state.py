"""The state of the inventory as of a date: the one input of every policy and figure.

``services/history.py`` rebuilds a ``Snapshot`` from the database (latest observation at or before the end
of the cut-off day, units/assets/licences as they were then); ``services/age``, ``services/compliance`` and
``services/coverage`` are pure functions of it, so the console, the CLI and the report can never disagree
and a past cut-off date gives the same numbers later.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from shared.schema import AntivirusProduct

UnitKind = Literal["district", "department", "commune", "school", "other"]
DeviceKind = Literal[
    "desktop", "laptop", "server", "printer", "scanner", "photocopier", "camera", "network", "monitor", "other"
]
DeviceStatus = Literal["in_use", "spare", "broken", "retired"]
InternetLink = Literal["fibre", "other", "none"]

#: Device kinds that are computers (run an agent, count in computer figures).
COMPUTER_KINDS: frozenset[str] = frozenset({"desktop", "laptop", "server"})


@dataclass(frozen=True, slots=True)
class UnitState:
    """An organisational unit and its hand-kept infrastructure facts."""

    code: str
    name: str
    kind: UnitKind
    parent_code: str | None = None
    staff: int | None = None
    lan: bool | None = None
    wifi: bool | None = None
    wan: bool | None = None
    internet: InternetLink | None = None
    one_stop_shop: bool = False


@dataclass(frozen=True, slots=True)
class AntivirusState:
    """One antivirus product as the device's latest report (as of the date) described it."""

    name: str
    enabled: bool | None
    up_to_date: bool | None
    signatures_updated_at: datetime | None
    source: str
    licence_problem: bool | None = None
    # The product's own word on its licence (see shared.schema.AntivirusProduct); None when it said nothing.
    licence_expires: date | None = None
    licence_type: str | None = None  # commercial, trial, free, unknown

    #: The report fields this family stores (see services/facts.py).
    READS: ClassVar[tuple[str, ...]] = tuple(f"antivirus[].{name}" for name in (
        "name", "enabled", "up_to_date", "signatures_updated_at", "source", "licence_problem", "licence_expires",
        "licence_type"))

    @classmethod
    def from_wire(cls, product: AntivirusProduct) -> AntivirusState:
        """The state of a product as a report lists it."""
        return cls(name=product.name, enabled=product.enabled, up_to_date=product.up_to_date,
                   signatures_updated_at=product.signatures_updated_at, source=product.source,
                   licence_problem=product.licence_problem, licence_expires=product.licence_expires,
                   licence_type=product.licence_type)

    def to_json(self) -> dict[str, Any]:
        """The stored form: one element of the observation's ``antivirus`` JSON list.

        The product's own licence keys appear only when it gave them (older observations lack them).
        """
        out: dict[str, Any] = {
            "name": self.name, "enabled": self.enabled, "up_to_date": self.up_to_date,
            "signatures_updated_at": self.signatures_updated_at.isoformat() if self.signatures_updated_at else None,
            "source": self.source, "licence_problem": self.licence_problem,
        }
        if self.licence_expires:
            out["licence_expires"] = self.licence_expires.isoformat()
        if self.licence_type:
            out["licence_type"] = self.licence_type
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AntivirusState:
        """The state from its stored form (``to_json``)."""
        signatures = data.get("signatures_updated_at")
        at = datetime.fromisoformat(signatures) if signatures else None
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        expires = data.get("licence_expires")
        return cls(name=data["name"], enabled=data.get("enabled"), up_to_date=data.get("up_to_date"),
                   signatures_updated_at=at, source=data.get("source", "other"),
                   licence_problem=data.get("licence_problem"),
                   licence_expires=date.fromisoformat(expires) if expires else None,
                   licence_type=data.get("licence_type"))

    @classmethod
    def from_json_list(cls, text: str | None) -> tuple[AntivirusState, ...]:
        """Every product of an observation's ``antivirus`` column."""
        return tuple(cls.from_json(p) for p in json.loads(text)) if text else ()


@dataclass(frozen=True, slots=True)
class DeviceState:
    """One physical asset as of the date: its record plus the facts of its latest observation."""

    id: int
    unit_code: str
    kind: DeviceKind
    status: DeviceStatus = "in_use"
    name: str | None = None
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    air_gapped: bool = False
    purchased_on: date | None = None
    notes: str | None = None  # the officer's free text
    # Facts from agent reports; all None/empty for hand-entered assets.
    machine_id: str | None = None
    hostname: str | None = None
    has_agent: bool = False
    delivered_offline: bool = False  # latest report arrived by file import (air-gapped transfer)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    reports_received: int = 0
    chassis: str | None = None
    cpu_model: str | None = None
    earliest_bios_date: date | None = None  # earliest ever seen up to the date: a BIOS update must not rejuvenate
    bios_date: date | None = None  # as last reported
    os_install_date: date | None = None
    os_name: str | None = None
    os_version: str | None = None
    os_build: str | None = None
    monitor_year: int | None = None
    antivirus: tuple[AntivirusState, ...] = ()
    firewall_enabled: bool | None = None
    internet_reachable: bool | None = None
    # Network evidence of the latest report: an up ethernet interface with an IPv4 address and a default
    # gateway (a LAN), an up Wi-Fi interface (Wi-Fi); None when the report listed no interfaces.
    lan_evidence: bool | None = None
    wifi_evidence: bool | None = None
    clock_wrong: bool = False  # the latest report's clock was wrong (filed at the server's receipt time)
    detections_readable: bool | None = None  # the latest report read an antivirus history (None: not collected)
    # Another unit's (or agent's) device with this computer's serial: for the officer to check, never merged.
    possible_duplicate_of: int | None = None
    # Monitors: the computer whose latest report (as of the date) shows it; None when no computer does.
    host_id: int | None = None


@dataclass(frozen=True, slots=True)
class DetectionState:
    """A malware detection as of the date (``services/detections.detections_as_of``)."""

    id: int
    device_id: int
    severity: str  # low, moderate, high, severe, unknown: as the newest report describes it
    status: str  # active, failed, remediated, allowed, unknown: its latest event before the cut-off
    first_reported_at: datetime
    status_since: datetime
    found_in_period: bool  # first reported in the report period
    in_period: bool  # found, changed in the period, or still unremediated at the cut-off
    remediated_in_period: bool  # remediated as of the cut-off, by a change in the period


@dataclass(frozen=True, slots=True)
class LicenceState:
    """An antivirus licence: seats bought for a product, valid between two dates, for a unit or everyone."""

    id: int
    product: str
    seats: int
    valid_from: date | None
    valid_to: date | None
    unit_code: str | None = None  # None: the whole tree


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the figures need, as of the end of ``as_of``."""

    as_of: date
    units: tuple[UnitState, ...] = ()
    devices: tuple[DeviceState, ...] = ()
    licences: tuple[LicenceState, ...] = ()
    corrected_after: datetime | None = field(default=None)  # latest correction of inputs dated after as_of
    detections: tuple[DetectionState, ...] = ()  # malware detections known by the cut-off
