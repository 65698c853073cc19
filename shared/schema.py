"""The wire contract between agent and server: one ``InventoryReport`` per collection.

Every fact may be ``None`` when the agent could not learn it; the reason then sits in ``errors``.
The server accepts ``SCHEMA_VERSION`` and the version before it (``ACCEPTED_SCHEMA_VERSIONS``).
Strings and lists are bounded so that a hostile or broken agent cannot make the server store megabytes, every
string goes through ``shared.text.clean_text`` (NFC, no control characters: a NUL in a hostname is stripped,
not a server error), every timestamp must be expressible in UTC, and JSON is parsed with a nesting limit
(``load_json``), so agent and server share one set of bounds.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal

import pydantic_core
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shared.text import clean_text

SCHEMA_VERSION = 2
#: The server accepts the current version and the one before it (never below 1).
ACCEPTED_SCHEMA_VERSIONS = frozenset(v for v in (SCHEMA_VERSION, SCHEMA_VERSION - 1) if v >= 1)

Platform = Literal["windows", "linux", "darwin"]
Chassis = Literal["desktop", "laptop", "server", "virtual", "other"]
DiskKind = Literal["ssd", "hdd", "unknown"]
InterfaceKind = Literal["ethernet", "wifi", "virtual", "loopback", "other"]
AntivirusSource = Literal[
    "security_center", "defender", "service", "installed_program", "clamav", "xprotect", "other"
]
DetectionSource = Literal["defender", "clamav", "xprotect", "mrt", "other"]
#: Where a detection stands: still on the machine (``active``), dealt with (``remediated``: removed, cleaned or
#: quarantined), the product's action failed (``failed``), let through by a person (``allowed``), or unknown.
DetectionStatus = Literal["active", "remediated", "failed", "allowed", "unknown"]
Severity = Literal["low", "moderate", "high", "severe", "unknown"]
PeripheralKind = Literal["printer", "scanner", "multifunction", "other"]
Connection = Literal["usb", "network", "local", "virtual", "unknown"]

#: Deepest JSON nesting a report or bundle may have (a report is about five levels deep).
MAX_JSON_DEPTH = 32


def _line(value: str) -> str:
    # Printable ASCII is already clean (and NFC): the common case costs two C calls.
    return value if value.isascii() and value.isprintable() else clean_text(value).strip()


def _lines(value: str) -> str:
    return value if value.isascii() and value.isprintable() else clean_text(value, multiline=True).strip()


def _utc(value: datetime) -> datetime:
    """The instant in UTC; a time that UTC cannot express (year 1 east of Greenwich) is a validation error."""
    try:
        return value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise ValueError("timestamp is out of range: it cannot be expressed in UTC") from None


def _machine_id(value: str) -> str:
    if not value:
        raise ValueError("machine_id is empty once control characters are removed")
    return value


#: One line of outside text: bounded, NFC, control characters removed (``shared.text.clean_text``).
Text = Annotated[str, StringConstraints(max_length=512), AfterValidator(_line)]
ShortText = Annotated[str, StringConstraints(max_length=128), AfterValidator(_line)]
LongText = Annotated[str, StringConstraints(max_length=4096), AfterValidator(_lines)]
MachineId = Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(_line),
                      AfterValidator(_machine_id)]
#: An aware timestamp, converted to UTC (so every later comparison is safe).
Timestamp = Annotated[AwareDatetime, AfterValidator(_utc)]


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def load_json(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON with bounded nesting; ValueError (never RecursionError) for broken or too deep input."""
    try:
        value = pydantic_core.from_json(data)  # a parser with its own recursion limit: ValueError, not a crash
    except ValueError as exc:
        if "recursion limit" in str(exc):
            raise ValueError(f"JSON nested deeper than {max_depth} levels") from None
        raise
    if _depth(value) > max_depth:
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    return value


class _Part(BaseModel):
    """Base of every report part: unknown keys from newer agents are ignored, not fatal."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class CollectorError(_Part):
    """A fact family that could not be collected, and why."""

    collector: ShortText = Field(description="Fact family that failed, e.g. 'antivirus' or 'hardware'")
    error: ShortText = Field(
        description="Machine-readable reason: timeout, permission_denied, not_found, parse_error, unsupported, ..."
    )
    detail: LongText | None = Field(None, description="Human-readable detail (command, message)")


class Disk(_Part):
    """One physical disk."""

    model: Text | None = Field(None, description="Disk model as the OS reports it")
    size_bytes: int | None = Field(None, ge=0, description="Capacity in bytes")
    kind: DiskKind = Field("unknown", description="ssd, hdd or unknown (rotational flag / media type)")


class Hardware(_Part):
    """The computer itself: identity, make, and the evidence of its age."""

    vendor: Text | None = Field(None, description="System manufacturer (SMBIOS system vendor)")
    model: Text | None = Field(None, description="System model / product name")
    serial: Text | None = Field(None, description="System serial number; None when unreadable or a placeholder")
    chassis: Chassis | None = Field(None, description="desktop, laptop, server, virtual or other")
    cpu_model: Text | None = Field(None, description="CPU brand string, e.g. 'Intel(R) Core(TM) i5-4590 CPU'")
    cpu_cores: int | None = Field(None, ge=0, description="Physical CPU cores")
    cpu_threads: int | None = Field(None, ge=0, description="Logical processors")
    ram_bytes: int | None = Field(None, ge=0, description="Installed physical memory in bytes")
    disks: list[Disk] = Field(default_factory=list, max_length=64, description="Physical disks")
    bios_vendor: Text | None = Field(None, description="Firmware vendor")
    bios_version: Text | None = Field(None, description="Firmware version string")
    bios_date: date | None = Field(
        None, description="Firmware release date as reported by the firmware; None when unknown"
    )


class OperatingSystem(_Part):
    """The installed operating system."""

    name: Text | None = Field(None, description="OS product name, e.g. 'Microsoft Windows 10 Pro'")
    version: ShortText | None = Field(None, description="OS version, e.g. '10.0.19045' or '14.4.1'")
    build: ShortText | None = Field(None, description="OS build number")
    architecture: ShortText | None = Field(None, description="CPU architecture of the OS, e.g. 'x86_64'")
    is_server: bool | None = Field(None, description="True for server editions (Windows Server)")
    install_date: date | None = Field(None, description="Date the OS was installed (UTC)")
    last_boot: Timestamp | None = Field(None, description="Last boot time (UTC)")
    last_update_date: date | None = Field(
        None, description="Date of the most recent installed update where the OS tells it"
    )


class AntivirusProduct(_Part):
    """One antivirus product found on the machine, with the source that revealed it."""

    name: Text = Field(description="Product name as displayed, e.g. 'Windows Defender', 'Bkav Pro'")
    enabled: bool | None = Field(None, description="Real-time protection on; None when unknown")
    up_to_date: bool | None = Field(None, description="Signatures current per the product; None when unknown")
    signatures_updated_at: Timestamp | None = Field(None, description="Last signature update (UTC)")
    product_state: int | None = Field(
        None, description="Windows Security Center's raw productState integer, when it came from there"
    )
    source: AntivirusSource = Field(
        description="How it was found: security_center, defender, service, installed_program, clamav, xprotect"
    )
    version: ShortText | None = Field(None, description="Product or engine version")
    licence_problem: bool | None = Field(
        None, description="True when the product reports a non-genuine or expired licence; None when unknown"
    )
    licence_expires: date | None = Field(
        None,
        ge=date(1990, 1, 1),
        le=date(2200, 12, 31),
        description="Last day of the licence the product itself holds (from its own records); None when it "
        "keeps none or none was found",
    )
    licence_type: Literal["commercial", "trial", "free", "unknown"] | None = Field(
        None,
        description="Kind of licence the product itself holds: commercial, trial, free, or unknown (a key of a "
        "kind the agent cannot name); None when the product does not say (or holds no key yet)",
    )
    signature_version: ShortText | None = Field(
        None, description="Version of the signature database as the product names it, e.g. '1.407.300.0'"
    )
    detail: Text | None = Field(None, description="Free text behind the facts, e.g. decoded state")


class FirewallProfile(_Part):
    """One firewall profile (Windows: Domain/Private/Public) or the single firewall elsewhere."""

    name: ShortText = Field(description="Profile name, e.g. 'Domain', 'Public', 'ufw', 'application'")
    enabled: bool | None = Field(None, description="Profile turned on")
    active: bool | None = Field(None, description="Profile applies to a connected network right now")


class Firewall(_Part):
    """Host firewall state."""

    enabled: bool | None = Field(None, description="True only if every active profile is on; None when unknown")
    source: ShortText | None = Field(None, description="netfirewallprofile, ufw, nftables, firewalld, socketfilterfw")
    profiles: list[FirewallProfile] = Field(default_factory=list, max_length=16, description="Per-profile detail")


class NetworkInterface(_Part):
    """One network interface."""

    name: Text = Field(description="Interface name as the OS shows it")
    kind: InterfaceKind = Field("other", description="ethernet, wifi, virtual, loopback or other")
    mac: ShortText | None = Field(None, description="MAC address, lower case, colon separated")
    ipv4: list[ShortText] = Field(default_factory=list, max_length=64, description="IPv4 addresses")
    ipv6: list[ShortText] = Field(default_factory=list, max_length=64, description="IPv6 addresses")
    speed_mbps: int | None = Field(None, ge=0, description="Link speed in Mbit/s; None when unknown")
    is_up: bool | None = Field(None, description="Link up")


class InternetCheck(_Part):
    """Result of the bounded connectivity check."""

    reachable: bool | None = Field(None, description="Any target answered; None when the check did not run")
    latency_ms: float | None = Field(None, ge=0, description="Connect time to the first target that answered")
    target: Text | None = Field(None, description="The target that answered (or the last tried)")
    checked_at: Timestamp | None = Field(None, description="When the check ran (UTC)")


class Network(_Part):
    """Interfaces, gateway and connectivity."""

    interfaces: list[NetworkInterface] = Field(default_factory=list, max_length=256, description="Interfaces")
    default_gateway: ShortText | None = Field(None, description="Default IPv4 gateway")
    internet: InternetCheck = Field(default_factory=InternetCheck, description="Connectivity check result")


class Peripheral(_Part):
    """A printer or scanner known to the OS."""

    name: Text = Field(description="Device name as the OS shows it")
    kind: PeripheralKind = Field("other", description="printer, scanner, multifunction or other")
    connection: Connection = Field("unknown", description="usb, network, local, virtual or unknown")


class Monitor(_Part):
    """A display, identified from its EDID: monitors are assets with an age too."""

    manufacturer: ShortText | None = Field(None, description="EDID three-letter manufacturer id, e.g. 'DEL'")
    model: Text | None = Field(None, description="EDID monitor name or product code")
    serial: Text | None = Field(None, description="EDID serial number")
    year_of_manufacture: int | None = Field(None, ge=1990, le=2100, description="EDID year of manufacture")
    source: ShortText | None = Field(None, description="WmiMonitorID, drm-edid, system_profiler")


class Peripherals(_Part):
    """Printers, scanners and monitors attached to or known by this computer."""

    devices: list[Peripheral] = Field(default_factory=list, max_length=128, description="Printers and scanners")
    monitors: list[Monitor] = Field(default_factory=list, max_length=16, description="Attached monitors")


class Detection(_Part):
    """One malware detection from a product's own history (Defender, ClamAV, XProtect/MRT)."""

    id: ShortText = Field(
        description="Stable id of the detection on this machine (Defender's DetectionID; for ClamAV and XProtect a "
        "digest of time, threat and file), so a detection seen in many reports is stored once"
    )
    threat: Text = Field(description="Threat name as the product gives it, e.g. 'Trojan:Win32/Wacatac.B!ml'")
    category: ShortText | None = Field(None, description="Threat category, e.g. 'Trojan', 'Virus', 'Adware'")
    severity: Severity = Field("unknown", description="low, moderate, high, severe or unknown")
    detected_at: Timestamp | None = Field(None, description="When the product first detected it (UTC)")
    resources: list[Text] = Field(
        default_factory=list, max_length=16, description="Files or other resources affected (first 16)"
    )
    action: ShortText | None = Field(
        None, description="What the product did: quarantine, remove, clean, allow, block, none, or its own word"
    )
    action_success: bool | None = Field(None, description="The action succeeded; None when unknown")
    remediated_at: Timestamp | None = Field(None, description="When the action completed (UTC)")
    status: DetectionStatus = Field(
        "unknown", description="active (still present), remediated, failed, allowed or unknown"
    )
    source: DetectionSource = Field(description="Whose history: defender, clamav, xprotect, mrt or other")
    product: ShortText | None = Field(None, description="Product that made the detection, as displayed")


class Detections(_Part):
    """What the antivirus products' own histories say this machine caught (schema version 2)."""

    readable: bool | None = Field(
        None,
        description="True when the history of the product protecting the machine was read (then an empty list "
        "means nothing was found); False when it cannot be read (detections unknown, never zero): no antivirus "
        "at all, a log the agent may not read, or a third-party product in charge whose history no agent can "
        "read, even if a passive Defender's history was read and its items are listed",
    )
    sources: list[DetectionSource] = Field(
        default_factory=list, max_length=8, description="Histories that were read (their items are listed)"
    )
    unreadable: list[Text] = Field(
        default_factory=list, max_length=64,
        description="Products found whose history this agent cannot read (their detections are unknown), by the "
        "name the antivirus list gives them",
    )
    items: list[Detection] = Field(
        default_factory=list, max_length=200, description="The latest detections, newest first (at most 200)"
    )
    truncated: bool = Field(False, description="The history held more than the detections listed")


class InventoryReport(_Part):
    """One collection from one computer."""

    schema_version: int = Field(SCHEMA_VERSION, description="Version of this contract")
    report_id: uuid.UUID = Field(
        default_factory=uuid.uuid4, description="New per collection; the server de-duplicates on it"
    )
    machine_id: MachineId = Field(
        description="Stable id: SMBIOS UUID, else /etc/machine-id or MachineGuid, else a generated id kept on disk"
    )
    machine_id_source: ShortText | None = Field(
        None, description="smbios_uuid, machine_id, machine_guid, platform_uuid, generated, derived (hostname+MACs)"
    )
    hostname: Text | None = Field(None, description="Computer name")
    platform: Platform | None = Field(None, description="windows, linux or darwin")
    collected_at: Timestamp = Field(
        description="When the collection ran (UTC), by the PC's clock: the server files a report whose clock is "
        "wrong (before enrolment, or more than a day ahead) at its own receipt time and keeps this as a claim"
    )
    agent_version: ShortText | None = Field(None, description="Version of the agent that made the report")
    hardware: Hardware = Field(default_factory=Hardware, description="Hardware and age evidence")
    os: OperatingSystem = Field(default_factory=OperatingSystem, description="Operating system")
    antivirus: list[AntivirusProduct] = Field(
        default_factory=list, max_length=64, description="Antivirus products found (empty: none found)"
    )
    firewall: Firewall = Field(default_factory=Firewall, description="Host firewall")
    network: Network = Field(default_factory=Network, description="Network and connectivity")
    peripherals: Peripherals = Field(default_factory=Peripherals, description="Printers, scanners, monitors")
    detections: Detections | None = Field(
        None, description="Malware detections from the products' histories; None in version 1 (not collected)"
    )
    errors: list[CollectorError] = Field(
        default_factory=list, max_length=200, description="Fact families that failed, and why"
    )


def json_schema() -> dict[str, object]:
    """The JSON Schema of the contract, for other systems and the docs."""
    return InventoryReport.model_json_schema()
