"""What a stored observation says about a computer, declared once: wire form, stored form, state form.

Each fact family that is more than a copied field has one class here that reads its part of the report
(``from_wire``), gives its observation columns (``columns``) and is rebuilt from them: antivirus
(``state.AntivirusState``, a JSON list in one column), firewall (``FirewallFacts``), network evidence
(``NetworkEvidence``) and monitors (``MonitorFacts``; each monitor is a device of its own, named by
``MonitorIdentity``). ``ObservationFacts`` is the whole record: built from a report by ingest, written as the
observation's columns, read back by ``history`` and handed to ``DeviceState`` as its fields.

``COPIED`` names the report fields stored as they are, ``READS`` every report field that reaches a column, and
``NOT_STORED`` every other one with the reason; a meta-test (tests/server/services/test_facts.py) keeps the
three and the schema, the ``observation`` table and ``DeviceState`` in step.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, ClassVar

from server.services.records import normalise_serial
from server.services.state import AntivirusState
from shared.schema import Firewall, InventoryReport, Network, Peripherals


@dataclass(frozen=True, slots=True)
class FirewallFacts:
    """The host firewall: on only when every active profile is (the agent decides ``enabled``)."""

    firewall_enabled: bool | None

    READS: ClassVar[tuple[str, ...]] = ("firewall.enabled",)

    @classmethod
    def from_wire(cls, firewall: Firewall) -> FirewallFacts:
        """The family from the report's ``firewall`` part."""
        return cls(firewall.enabled)


@dataclass(frozen=True, slots=True)
class NetworkEvidence:
    """What the report's network says about the unit's infrastructure and the PC's connectivity.

    LAN: an up ethernet interface with an IPv4 address while a default gateway is known; Wi-Fi: an up Wi-Fi
    interface; both None when the report lists no interfaces.
    """

    lan_evidence: bool | None
    wifi_evidence: bool | None
    internet_reachable: bool | None

    READS: ClassVar[tuple[str, ...]] = (
        "network.interfaces[].kind", "network.interfaces[].is_up", "network.interfaces[].ipv4[]",
        "network.default_gateway", "network.internet.reachable",
    )

    @classmethod
    def from_wire(cls, network: Network) -> NetworkEvidence:
        """The family from the report's ``network`` part."""
        reachable = network.internet.reachable
        if not network.interfaces:
            return cls(None, None, reachable)
        lan = bool(network.default_gateway) and any(
            i.kind == "ethernet" and i.is_up is True and bool(i.ipv4) for i in network.interfaces
        )
        wifi = any(i.kind == "wifi" and i.is_up is True for i in network.interfaces)
        return cls(lan, wifi, reachable)


#: Serial numbers monitor makers leave in the EDID of a whole model (0x01010101 and its byte patterns).
EDID_PLACEHOLDER_SERIALS = frozenset({"16843009", "01010101", "0X01010101", "33686018", "50529027"})


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


@dataclass(frozen=True, slots=True)
class MonitorFacts:
    """The monitors a report shows: each one's identity (a device of its own, sighted by the observation) and
    the oldest EDID year among them (the ``monitor_year`` column and state field)."""

    identities: tuple[MonitorIdentity, ...]
    monitor_year: int | None

    READS: ClassVar[tuple[str, ...]] = (
        "peripherals.monitors[].manufacturer", "peripherals.monitors[].model", "peripherals.monitors[].serial",
        "peripherals.monitors[].year_of_manufacture",
    )

    @classmethod
    def from_wire(cls, peripherals: Peripherals) -> MonitorFacts:
        """The monitors that can be named, each once, in the report's order."""
        found: dict[str, MonitorIdentity] = {}
        ranks: dict[str, int] = {}
        for m in peripherals.monitors:
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
        years = [m.year_of_manufacture for m in peripherals.monitors if m.year_of_manufacture]
        return cls(tuple(found.values()), min(years) if years else None)

    @property
    def key(self) -> str | None:
        """The hash a computer's row keeps of its monitors' identities (None: no monitor)."""
        if not self.identities:
            return None
        return hashlib.sha256("\n".join(sorted(i.key for i in self.identities)).encode("utf-8")).hexdigest()


#: Report fields stored as they are: observation column -> dotted path in the report.
COPIED: dict[str, str] = {
    "hostname": "hostname", "platform": "platform", "chassis": "hardware.chassis", "vendor": "hardware.vendor",
    "model": "hardware.model", "serial": "hardware.serial", "cpu_model": "hardware.cpu_model",
    "bios_date": "hardware.bios_date", "os_name": "os.name", "os_version": "os.version", "os_build": "os.build",
    "os_install_date": "os.install_date",
}

#: Stored columns that the state does not take from the observation, and why.
NOT_IN_STATE: dict[str, str] = {
    "platform": "the device kind and the OS name say what the figures need",
    "vendor": "the device record's vendor (hand-kept, versioned) is the state's",
    "model": "the device record's model is the state's",
    "serial": "the device record's serial is the state's",
}


def _copied(report: InventoryReport, path: str) -> Any:
    value: Any = report
    for part in path.split("."):
        value = getattr(value, part)
    return value


def stored_day(value: Any) -> date | None:
    """A stored date (SQLite hands text back through a subquery) as a date."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


_DATES = frozenset({"bios_date", "os_install_date"})


@dataclass(frozen=True, slots=True)
class ObservationFacts:
    """Everything a stored observation says about its computer; each field is an ``observation`` column of the
    same name and, unless listed in ``NOT_IN_STATE``, a ``DeviceState`` field of the same name."""

    hostname: str | None = None
    platform: str | None = None
    chassis: str | None = None
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    cpu_model: str | None = None
    bios_date: date | None = None
    os_name: str | None = None
    os_version: str | None = None
    os_build: str | None = None
    os_install_date: date | None = None
    monitor_year: int | None = None
    antivirus: tuple[AntivirusState, ...] = ()
    firewall_enabled: bool | None = None
    internet_reachable: bool | None = None
    lan_evidence: bool | None = None
    wifi_evidence: bool | None = None
    detections_readable: bool | None = None  # an antivirus history was read; None: detections not collected
    clock_wrong: bool = False  # the PC's clock was wrong: filed at the server's receipt time

    #: Every report field that reaches a column.
    READS: ClassVar[tuple[str, ...]] = (
        *COPIED.values(), *AntivirusState.READS, *FirewallFacts.READS, *NetworkEvidence.READS, *MonitorFacts.READS,
        "detections.readable",
    )

    @classmethod
    def from_report(cls, report: InventoryReport, *, clock_wrong: bool = False,
                    monitors: MonitorFacts | None = None) -> ObservationFacts:
        """The facts of a report (``monitors`` when the caller already read them)."""
        monitors = monitors or MonitorFacts.from_wire(report.peripherals)
        firewall = FirewallFacts.from_wire(report.firewall)
        network = NetworkEvidence.from_wire(report.network)
        return cls(
            **{column: _copied(report, path) for column, path in COPIED.items()},
            monitor_year=monitors.monitor_year,
            antivirus=tuple(AntivirusState.from_wire(p) for p in report.antivirus),
            firewall_enabled=firewall.firewall_enabled,
            internet_reachable=network.internet_reachable, lan_evidence=network.lan_evidence,
            wifi_evidence=network.wifi_evidence,
            detections_readable=report.detections.readable if report.detections is not None else None,
            clock_wrong=clock_wrong,
        )

    def columns(self) -> dict[str, Any]:
        """The stored form: the observation's columns (antivirus as sorted-key JSON)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["antivirus"] = json.dumps([a.to_json() for a in self.antivirus], sort_keys=True)
        return out

    @classmethod
    def from_row(cls, row: Any) -> ObservationFacts:
        """The facts of a stored observation (any row with the columns as attributes)."""
        values = {f.name: getattr(row, f.name) for f in fields(cls)}
        for name in _DATES:
            values[name] = stored_day(values[name])
        values["antivirus"] = AntivirusState.from_json_list(values["antivirus"])
        values["clock_wrong"] = bool(values["clock_wrong"])
        if values["detections_readable"] is not None:  # 0/1 where a subquery skips the column's type
            values["detections_readable"] = bool(values["detections_readable"])
        return cls(**values)

    def state(self) -> dict[str, Any]:
        """The state form: ``DeviceState`` keyword arguments."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in NOT_IN_STATE}


#: Observation columns that are not facts of the computer but of the record itself.
BOOKKEEPING: frozenset[str] = frozenset({
    "id", "device_id", "observed_at", "received_at", "report_id", "delivered_offline", "content_hash", "facts",
    "claimed_collected_at",
})

#: Report fields (or whole parts, by prefix) that no column holds, and why. Every report keeps them in the
#: observation's ``facts`` JSON (but the volatile ones, see ``ingest.normalised_facts``).
NOT_STORED: dict[str, str] = {
    "schema_version": "the contract's version: volatile",
    "report_id": "the received_report row and the observation's report_id (bookkeeping)",
    "collected_at": "the observation's observed_at, as filed (clock_wrong and claimed_collected_at)",
    "machine_id": "the device's machine_id: the identity, not a fact that changes",
    "machine_id_source": "how the agent found the machine id: support detail",
    "agent_version": "the agent's version: support detail",
    "hardware.cpu_cores": "no figure uses it",
    "hardware.cpu_threads": "no figure uses it",
    "hardware.ram_bytes": "no figure uses it",
    "hardware.disks[]": "no figure uses it; a replaced disk shows in the facts JSON",
    "hardware.bios_vendor": "the firmware's vendor: the date is the age evidence",
    "hardware.bios_version": "the firmware's version: the date is the age evidence",
    "os.architecture": "no figure uses it",
    "os.is_server": "decides the device kind when the device is created (ingest.device_kind)",
    "os.last_boot": "volatile",
    "os.last_update_date": "no figure uses it yet",
    "antivirus[].product_state": "Security Center's raw state: the agent decodes it into enabled / up_to_date",
    "antivirus[].version": "the product's version: support detail",
    "antivirus[].signature_version": "the signatures' version: the date is what freshness is judged on",
    "antivirus[].detail": "free text behind the facts",
    "firewall.source": "which tool answered: support detail",
    "firewall.profiles[]": "per-profile detail: the agent's enabled says whether every active one is on",
    "network.interfaces[].name": "interface detail: only the evidence is stored",
    "network.interfaces[].mac": "interface detail: only the evidence is stored",
    "network.interfaces[].ipv6[]": "interface detail: the LAN rule reads IPv4",
    "network.interfaces[].speed_mbps": "interface detail: only the evidence is stored",
    "network.internet.latency_ms": "volatile",
    "network.internet.target": "which target answered: support detail",
    "network.internet.checked_at": "volatile",
    "peripherals.devices[]": "printers and scanners are entered by hand as assets",
    "peripherals.monitors[].source": "which probe read the EDID: support detail",
    "detections.sources[]": "detections are stored per item by services/detections.py",
    "detections.unreadable[]": "detections are stored per item by services/detections.py",
    "detections.items[]": "detections are stored per item by services/detections.py",
    "detections.truncated": "detections are stored per item by services/detections.py",
    "errors[]": "what failed on the PC: kept in the facts JSON for support",
}
