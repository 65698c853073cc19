"""What every per-OS collector shares, as psutil's ``_common`` does: sources, value helpers, the psutil
snapshot and the OS-neutral rules of each fact family. The per-OS modules import this and nothing else of
the package, so a rule (what a chassis code means, when a firewall counts as on) is written once.

Sections: sources and errors; values; the host snapshot; then one section per fact family.

Every probe output has a name (``Win32_BIOS.json``, ``dmi/bios_date``, ``host.json``). The live sources of
each OS produce the bytes by reading files or running commands; the replay source reads the same names from
a folder written by ``kiemke-agent capture``. Parsers only ever see the bytes, so a Windows parser runs on
Linux in tests exactly as it does on the PC.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol, TypeVar

from shared.schema import (
    Chassis,
    CollectorError,
    Connection,
    Detection,
    FirewallProfile,
    InterfaceKind,
    Monitor,
    NetworkInterface,
    PeripheralKind,
)
from shared.text import clean_text

T = TypeVar("T")


# ---------------------------------------------------------------- sources and errors


class ProbeError(Exception):
    """A source could not be read: ``error`` is the machine-readable reason, ``detail`` says what and why."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.error = error
        self.detail = detail


class Source(Protocol):
    """Raw outputs of one machine, by name."""

    platform: str
    live: bool

    def read_bytes(self, name: str) -> bytes:
        """The raw output called ``name``; raises ``ProbeError`` when it cannot be had."""
        ...

    def names(self, prefix: str) -> list[str]:
        """Names present under ``prefix`` (for families with a variable number of files, e.g. monitors)."""
        ...


class Errors:
    """The report's ``errors``: one entry per fact family and reason, in the order they happened."""

    def __init__(self) -> None:
        self.items: list[CollectorError] = []
        self._seen: set[tuple[str, str, str | None]] = set()

    def add(self, collector: str, error: str, detail: str | None = None) -> None:
        """Record that ``collector`` failed with ``error``; the same failure twice is kept once."""
        key = (collector, error, detail)
        if key not in self._seen:
            self._seen.add(key)
            self.items.append(CollectorError(collector=collector, error=error, detail=(detail or "")[:4096] or None))

    def text(self, src: Source, name: str, collector: str) -> str | None:
        """The decoded output ``name``, or None with the reason recorded against ``collector``."""
        try:
            return decode(src.read_bytes(name))
        except ProbeError as exc:
            self.add(collector, exc.error, exc.detail)
            return None

    def optional_text(self, src: Source, name: str, collector: str) -> str | None:
        """Like ``text`` for sources that only refine facts: their absence is not worth an entry."""
        try:
            return decode(src.read_bytes(name))
        except ProbeError as exc:
            if exc.error != "not_found":
                self.add(collector, exc.error, exc.detail)
            return None

    def parsed(self, collector: str, name: str, exc: Exception) -> None:
        """Record that the output ``name`` could not be parsed."""
        self.add(collector, "parse_error", f"{name}: {exc}")

    def read(
        self, src: Source, name: str, collector: str, parse: Callable[[str], T], *, optional: bool = False
    ) -> T | None:
        """``parse`` of the output ``name``, or None with the reason (missing, unreadable, garbage) recorded.

        ``optional`` outputs only refine facts: their absence is not worth an entry (see ``optional_text``).
        """
        text = (self.optional_text if optional else self.text)(src, name, collector)
        if text is None:
            return None
        try:
            return parse(text)
        except ValueError as exc:
            self.parsed(collector, name, exc)
            return None


def decode(data: bytes) -> str:
    """Text from bytes as Windows and Unix tools write them: UTF-8 with or without BOM, UTF-16 LE/BE."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    # PowerShell's "Out-File -Encoding Unicode" without BOM still shows as ASCII with NUL every other byte.
    if len(data) >= 4 and data[1:4:2] == b"\x00\x00" and data[0:4:2] != b"\x00\x00":
        return data.decode("utf-16-le", errors="replace")
    return data.decode("utf-8", errors="replace")


class LiveBase:
    """Base of the live sources: each output is produced once per collection, so all families see the same."""

    def __init__(self) -> None:
        self._cache: dict[str, bytes | ProbeError] = {}

    def _read(self, name: str) -> bytes:
        raise NotImplementedError

    def read_bytes(self, name: str) -> bytes:
        """The raw output ``name``, produced on first use."""
        if name not in self._cache:
            try:
                self._cache[name] = self._read(name)
            except ProbeError as exc:
                self._cache[name] = exc
        value = self._cache[name]
        if isinstance(value, ProbeError):
            raise value
        return value


# ---------------------------------------------------------------- values

# The odd shapes tools print, as plain Python values: JSON that is one object or a list, the three date
# styles Windows emits, firmware placeholders that mean "unknown", numbers that arrive as strings.

#: One object of ConvertTo-Json (or system_profiler) output.
Record = dict[str, Any]

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_CIM_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})([\d*]{6})\.[\d*]{6}([+-])([\d*]{3})$")
_ISO_FRACTION = re.compile(r"(\.\d{6})\d+")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")

#: Strings firmware and OEM images leave in SMBIOS fields when nobody filled them in.
PLACEHOLDERS = frozenset(
    s.casefold()
    for s in (
        "To be filled by O.E.M.", "To Be Filled By O.E.M.", "Default string", "System Product Name",
        "System manufacturer", "System Manufacturer", "System Serial Number", "System Version",
        "Chassis Serial Number", "Base Board Serial Number", "Not Specified", "Not Applicable", "Not Available",
        "None", "N/A", "NA", "OEM", "O.E.M.", "Unknown", "INVALID", "Type1ProductConfigId", "SKU",
        "123456789", "1234567890", "0123456789", "xxxxxxxxxx", "Undefined", "Default", "empty",
    )
)


def load_json(text: str) -> Any:
    """JSON from a tool's output; empty output (no instances) is None. Raises ValueError when it is garbage."""
    text = text.lstrip("\ufeff").strip()
    if not text:
        return None
    return json.loads(text)


def records(value: Any) -> list[Record]:
    """The list of objects in ConvertTo-Json output, which prints a single instance as a bare object."""
    if value is None:
        return []
    # Windows PowerShell 5.1 wraps some arrays as {"value": [...], "Count": n}.
    if isinstance(value, dict) and set(value) == {"value", "Count"}:
        value = value["value"]
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    raise ValueError(f"expected an object or a list of objects, got {type(value).__name__}")


def first(value: Any) -> Record:
    """The first object of ConvertTo-Json output, or an empty record when there is none."""
    found = records(value)
    return found[0] if found else {}


def clean(value: Any, limit: int = 512) -> str | None:
    """A trimmed string cut to ``limit`` characters (the contract's bound), or None for empty and placeholders.

    Control characters go by the one rule for outside text (``shared.text.clean_text``), the rule the schema
    applies again on both sides of the wire."""
    if value is None or isinstance(value, bool):
        return None
    text = clean_text(str(value)).strip()
    if not text or text.casefold() in PLACEHOLDERS:
        return None
    return text[:limit].rstrip()


def short(value: Any) -> str | None:
    """``clean`` for the contract's short fields (versions, builds, names of profiles): 128 characters."""
    return clean(value, 128)


def clean_serial(value: Any) -> str | None:
    """A serial number, or None for placeholders and serials made of one repeated character (``00000000``)."""
    text = clean(value)
    if text is None:
        return None
    bare = text.replace("-", "").replace(" ", "")
    if not bare or len(set(bare.casefold())) == 1:
        return None
    return text


def to_int(value: Any) -> int | None:
    """An integer from a number or a numeric string; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def to_bool(value: Any) -> bool | None:
    """A boolean from true/false, 1/0 or their string forms; None for anything else (e.g. NotConfigured)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {1: True, 0: False}.get(value)
    if isinstance(value, str):
        return {"true": True, "false": False, "1": True, "0": False}.get(value.strip().lower())
    return None


def parse_when(value: Any) -> datetime | None:
    """An aware UTC datetime from CIM, ``/Date(ms)/``, ISO 8601, ``M/D/YYYY`` or ``YYYYMMDD``; None if none fits.

    Dates without any zone are taken as UTC: there is no better guess, and a day's error is the worst case.
    """
    if isinstance(value, dict):  # PS 5.1 wraps decorated DateTimes as {"value": "/Date(..)/", "DateTime": ...}
        value = value.get("value")
    if not isinstance(value, str):
        return None
    text = value.strip().replace("\\/", "/")
    if not text:
        return None
    match = _MS_DATE.match(text)
    if match:
        # The milliseconds are UTC; the optional offset only says which zone the writer was in.
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=int(match.group(1)))
    match = _CIM_DATE.match(text)
    if match:
        return _cim(match)
    match = _US_DATE.match(text)
    if match:
        return _utc_date(int(match.group(3)), int(match.group(1)), int(match.group(2)))
    match = _COMPACT_DATE.match(text)
    if match:
        return _utc_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    try:
        parsed = datetime.fromisoformat(_ISO_FRACTION.sub(r"\1", text.replace("Z", "+00:00")))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def parse_date(value: Any) -> date | None:
    """The UTC calendar date of ``parse_when(value)``."""
    when = parse_when(value)
    return when.date() if when else None


def _utc_date(year: int, month: int, day: int) -> datetime | None:
    try:
        return datetime(year, month, day, tzinfo=timezone.utc)
    except ValueError:
        return None


def _cim(match: re.Match[str]) -> datetime | None:
    year, month, day, clock, sign, offset = match.groups()
    base = _utc_date(int(year), int(month), int(day))
    if base is None:
        return None
    if "*" in clock:  # wildcards: only the date is known
        return base
    try:
        base = base.replace(hour=int(clock[:2]), minute=int(clock[2:4]), second=int(clock[4:]))
    except ValueError:
        return None
    minutes = 0 if "*" in offset else int(offset)
    # DMTF offsets are minutes east of UTC: local = UTC + offset, so UTC = local - offset.
    return base - timedelta(minutes=minutes if sign == "+" else -minutes)


# UUIDs that firmware vendors ship on many boards at once: not an identity.
_BAD_UUIDS = {"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
              "03000200-0400-0500-0006-000700080009"}


def usable_uuid(value: Any) -> str | None:
    """An SMBIOS UUID in lower case, or None for the blank and shared ones boards ship with."""
    text = clean(value)
    if text is None or text.lower() in _BAD_UUIDS or not re.fullmatch(r"[0-9a-fA-F-]{32,36}", text):
        return None
    return text.lower()


# ---------------------------------------------------------------- host snapshot (psutil)

# The facts psutil gives on every OS, snapshotted to JSON so that capture and replay see the same bytes.


#: Name of the snapshot among a machine's raw outputs.
HOST = "host.json"


@dataclass
class HostInterface:
    """One interface as psutil (and, on Linux, sysfs) sees it."""

    name: str
    mac: str | None = None
    ipv4: list[str] = field(default_factory=list)
    ipv6: list[str] = field(default_factory=list)
    speed_mbps: int | None = None
    is_up: bool | None = None
    loopback: bool = False
    wireless: bool | None = None
    device_path: str | None = None


@dataclass
class HostFacts:
    """Parsed ``host.json``."""

    hostname: str | None = None
    cpu_cores: int | None = None
    cpu_threads: int | None = None
    ram_bytes: int | None = None
    boot_time: float | None = None
    kernel: str | None = None
    machine: str | None = None
    interfaces: list[HostInterface] = field(default_factory=list)


def snapshot(sys_class_net: Path | None = None) -> bytes:
    """Read CPU counts, memory, boot time and interfaces with psutil; ``sys_class_net`` adds Linux link detail."""
    import psutil  # only the live path pays for psutil

    stats = psutil.net_if_stats()
    interfaces: list[dict[str, Any]] = []
    for name, addresses in sorted(psutil.net_if_addrs().items()):
        item: dict[str, Any] = {"name": name, "ipv4": [], "ipv6": []}
        for addr in addresses:
            if addr.family == socket.AF_INET:
                item["ipv4"].append(addr.address)
            elif addr.family == socket.AF_INET6:
                item["ipv6"].append(addr.address.split("%", 1)[0])
            elif addr.family == psutil.AF_LINK:
                item["mac"] = addr.address
        stat = stats.get(name)
        if stat is not None:
            item["is_up"] = stat.isup
            item["speed_mbps"] = stat.speed or None  # psutil says 0 when the driver does not tell
            item["loopback"] = "loopback" in getattr(stat, "flags", "")
        if sys_class_net is not None:
            link = sys_class_net / name
            item["wireless"] = (link / "wireless").exists()
            try:
                item["device_path"] = os.readlink(link)
            except OSError:
                item["device_path"] = None
        interfaces.append(item)
    facts = {
        "hostname": socket.gethostname(),
        "cpu_cores": psutil.cpu_count(logical=False),
        "cpu_threads": psutil.cpu_count(logical=True),
        "ram_bytes": psutil.virtual_memory().total,
        "boot_time": psutil.boot_time(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "interfaces": interfaces,
    }
    return json.dumps(facts, indent=1).encode()


def parse_host(text: str) -> HostFacts:
    """``HostFacts`` from a snapshot; raises ValueError on garbage."""
    data = load_json(text)
    if not isinstance(data, dict):
        raise ValueError("host snapshot is not a JSON object")
    boot = data.get("boot_time")
    facts = HostFacts(
        hostname=clean(data.get("hostname")),
        cpu_cores=to_int(data.get("cpu_cores")),
        cpu_threads=to_int(data.get("cpu_threads")),
        ram_bytes=to_int(data.get("ram_bytes")),
        boot_time=float(boot) if isinstance(boot, (int, float)) else None,
        kernel=short(data.get("kernel")),
        machine=short(data.get("machine")),
    )
    for item in records(data.get("interfaces")):
        name = clean(item.get("name"))
        if name is None:
            continue
        mac = item.get("mac")
        facts.interfaces.append(
            HostInterface(
                name=name,
                mac=_mac(mac[:128]) if isinstance(mac, str) else None,
                ipv4=[str(a)[:128] for a in _list(item.get("ipv4"))],
                ipv6=[str(a)[:128] for a in _list(item.get("ipv6"))],
                speed_mbps=to_int(item.get("speed_mbps")),
                is_up=to_bool(item.get("is_up")),
                loopback=bool(item.get("loopback")),
                wireless=to_bool(item.get("wireless")),
                device_path=item.get("device_path") or None,
            )
        )
    return facts


def host_facts(src: Source, errors: Errors, family: str) -> HostFacts | None:
    """The parsed snapshot of ``src``, or None with the reason recorded against ``family``."""
    return errors.read(src, HOST, family, parse_host)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _mac(text: str) -> str | None:
    """Lower-case colon-separated MAC; Windows prints dashes. All-zero MACs (loopback, tunnels) are None."""
    mac = text.strip().lower().replace("-", ":")
    return None if not mac or set(mac) <= {"0", ":"} else mac


# ---------------------------------------------------------------- hardware


# SMBIOS 3.x system enclosure types (DSP0134 table "System Enclosure or Chassis Types").
_DESKTOP = {3, 4, 5, 6, 7, 13, 15, 16, 24, 34, 35, 36}
_LAPTOP = {8, 9, 10, 11, 14, 30, 31, 32}
_SERVER = {17, 23, 25, 28, 29}
_UNKNOWN = {2}
# A docked notebook reports both a notebook and a docking-station code: the notebook decides.
_GROUPS: tuple[tuple[set[int], Chassis], ...] = ((_LAPTOP, "laptop"), (_SERVER, "server"), (_DESKTOP, "desktop"))

# Vendors and models hypervisors write into SMBIOS. Hyper-V says "Microsoft Corporation" / "Virtual Machine".
_VIRTUAL = re.compile(
    r"vmware|virtualbox|innotek|qemu|\bkvm\b|bochs|xen|parallels|virtual machine|google compute engine"
    r"|amazon ec2|openstack|bhyve|cloud hypervisor",
    re.IGNORECASE,
)


def is_virtual(*names: str | None) -> bool:
    """True when a vendor or model string names a hypervisor."""
    return any(name and _VIRTUAL.search(name) for name in names)


def chassis_from(codes: Iterable[int], vendor: str | None = None, model: str | None = None) -> Chassis | None:
    """Chassis from SMBIOS enclosure codes, overridden by ``virtual`` when vendor or model names a hypervisor."""
    if is_virtual(vendor, model):
        return "virtual"
    known = [c for c in codes if c not in _UNKNOWN]
    for group, label in _GROUPS:
        if any(c in group for c in known):
            return label
    return "other" if known else None


# ---------------------------------------------------------------- operating system


def from_epoch(seconds: object) -> datetime | None:
    """An aware UTC datetime from epoch seconds, whole seconds only (boot times jitter below that)."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(int(seconds), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):  # a broken clock or file, not a date
        return None


# ---------------------------------------------------------------- firewall


def overall(profiles: list[FirewallProfile]) -> bool | None:
    """True only if every active profile is on.

    A profile whose activity is unknown counts as active: claiming protection we cannot see is worse than
    a false alarm. Unknown when no profile says whether it is on.
    """
    relevant = [p for p in profiles if p.active is not False]
    if not relevant:
        return None
    if any(p.enabled is False for p in relevant):
        return False
    if all(p.enabled is True for p in relevant):
        return True
    return None


# ---------------------------------------------------------------- network


_VIRTUAL_NAME = re.compile(
    r"^(docker|veth|br-|virbr|vmnet|vboxnet|tun|tap|wg|zt|tailscale|ifb|dummy|bond|team|vnet|cni|flannel|"
    r"cali|lxc|lxd|podman)|vethernet|virtual|hyper-v|vpn|tap-windows|wan miniport|pseudo",
    re.IGNORECASE,
)
_WIFI_NAME = re.compile(r"^(wl|wlan|wifi|ath|ra\d)|wi-?fi|wireless|802\.11|không dây", re.IGNORECASE)
_ETHERNET_NAME = re.compile(r"^(en|eth|em\d|eno|ens|enp|p\d+p\d+)|ethernet|local area connection|gbe", re.IGNORECASE)


def interface_kind(item: HostInterface) -> InterfaceKind:
    """ethernet, wifi, virtual, loopback or other: sysfs facts first, then the name the OS gives it."""
    if item.loopback or item.name == "lo" or item.name.lower().startswith("loopback"):
        return "loopback"
    if item.wireless:
        return "wifi"
    if item.device_path is not None and "/virtual/" in item.device_path:
        return "virtual"
    if _VIRTUAL_NAME.search(item.name):
        return "virtual"
    if _WIFI_NAME.search(item.name):
        return "wifi"
    if item.device_path is not None or _ETHERNET_NAME.search(item.name):
        return "ethernet"
    return "other"


def interfaces_from(host_interfaces: list[HostInterface]) -> list[NetworkInterface]:
    """Schema interfaces from the psutil snapshot."""
    return [
        NetworkInterface(
            name=i.name,
            kind=interface_kind(i),
            mac=i.mac,
            ipv4=i.ipv4[:64],
            ipv6=i.ipv6[:64],
            speed_mbps=i.speed_mbps,
            is_up=i.is_up,
        )
        for i in host_interfaces[:256]
    ]


# ---------------------------------------------------------------- peripherals


_EDID_HEADER = b"\x00\xff\xff\xff\xff\xff\xff\x00"
_VIRTUAL_PRINTER = re.compile(r"pdf|xps|onenote|\bfax\b|send to|foxit|cutepdf|snagit", re.IGNORECASE)
# Names come with spaces (Windows) or underscores (CUPS): "HP LaserJet M1136 MFP", "Canon_MF3010", "Brother_DCP".
_MULTIFUNCTION = re.compile(r"(?<![a-z0-9])(mfp?|mfc|dcp)(?![a-z])|multifunction|all-in-one", re.IGNORECASE)
_SCANNER = re.compile(r"scan", re.IGNORECASE)


def parse_edid(data: bytes, source: str) -> Monitor | None:
    """A ``Monitor`` from a 128-byte (or longer) EDID block; None when the block is empty or not EDID."""
    if len(data) < 128 or not data.startswith(_EDID_HEADER):
        return None
    word = (data[8] << 8) | data[9]
    letters = [(word >> shift) & 0x1F for shift in (10, 5, 0)]
    manufacturer = "".join(chr(ord("A") + n - 1) for n in letters) if all(1 <= n <= 26 for n in letters) else None
    product_code = data[10] | (data[11] << 8)
    serial_number = int.from_bytes(data[12:16], "little")
    name: str | None = None
    text_serial: str | None = None
    # Four 18-byte descriptors; display descriptors start with 00 00 00 and a tag byte.
    for offset in (54, 72, 90, 108):
        block = data[offset : offset + 18]
        if block[:3] != b"\x00\x00\x00":
            continue
        value = block[5:18].split(b"\x0a", 1)[0].decode("cp437", errors="replace").strip()
        if block[3] == 0xFC and value:
            name = value
        elif block[3] == 0xFF and value:
            text_serial = value
    # Week 0xFF marks a model year rather than a year of manufacture: still the best age evidence there is.
    year = data[17] + 1990 if data[17] not in (0, 0xFF) else None
    return Monitor(
        manufacturer=manufacturer,
        model=name or (f"{manufacturer or ''}{product_code:04X}" if product_code else None),
        serial=text_serial or (str(serial_number) if serial_number else None),
        year_of_manufacture=year if year is not None and 1990 <= year <= 2100 else None,
        source=source,
    )


def printer_kind(name: str) -> PeripheralKind:
    """printer, multifunction or scanner from the name a driver gives the device."""
    if _MULTIFUNCTION.search(name):
        return "multifunction"
    if _SCANNER.search(name):
        return "scanner"
    return "printer"


def printer_connection(name: str, port: str | None) -> Connection:
    """How a printer is attached, from its port (Windows port name or CUPS device URI)."""
    if _VIRTUAL_PRINTER.search(name):
        return "virtual"
    p = (port or "").strip().lower()
    if not p:
        return "unknown"
    if p.startswith(("usb", "hp:/usb", "hpfax:/usb")) or "/usb/" in p:
        return "usb"
    if p.startswith(("ip_", "wsd", "\\\\", "socket:", "ipp:", "ipps:", "lpd:", "http:", "https:", "dnssd:", "smb:")):
        return "network"
    if re.match(r"^\d{1,3}(\.\d{1,3}){3}", p) or p.startswith("hp:/net"):
        return "network"
    if p.startswith(("lpt", "com", "parallel:", "serial:")):
        return "local"
    if p.startswith(("portprompt", "nul", "file:", "cups-pdf:", "shrfax", "onenote", "xps")):
        return "virtual"
    return "unknown"


# ---------------------------------------------------------------- detections

#: At most this many detections travel in one report (the contract's bound), newest first.
MAX_DETECTIONS = 200
#: And at most this much of their JSON: a report must stay well under the server's body limit
#: (``shared.protocol.MAX_REPORT_BYTES``, 1 MiB), or the whole report would be refused and set aside.
DETECTIONS_BUDGET = 256 * 1024


def detection_id(source: str, when: datetime | None, threat: str, resource: str | None) -> str:
    """A stable id for a detection whose product gives none: a digest of its time, threat and file.

    The same log line read in every report gives the same id, so the server stores the detection once.
    """
    stamp = when.astimezone(timezone.utc).isoformat() if when else ""
    digest = hashlib.sha256("\x1f".join((stamp, threat, resource or "")).encode("utf-8")).hexdigest()
    return f"{source}:{digest[:40]}"


def newest_first(items: list[Detection], limit: int = MAX_DETECTIONS,
                 budget: int = DETECTIONS_BUDGET) -> tuple[list[Detection], bool]:
    """One detection per id (the latest word on it), newest first, at most ``limit`` and ``budget`` bytes of
    JSON; and whether any were cut."""
    by_id: dict[str, Detection] = {}
    for item in items:
        by_id[item.id] = item  # a later line about the same detection (moved, removed) supersedes
    ordered = sorted(by_id.values(), key=lambda d: d.detected_at or _EPOCH, reverse=True)
    kept: list[Detection] = []
    used = 0
    for item in ordered[:limit]:
        used += len(item.model_dump_json()) + 1
        if used > budget:
            break
        kept.append(item)
    return kept, len(kept) < len(ordered)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
