"""macOS: one ``system_profiler -json`` call, the application firewall's state, XProtect's bundle."""

from __future__ import annotations

import json
import os
import plistlib
import re
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.collectors._common import (
    HOST,
    Errors,
    LiveBase,
    ProbeError,
    Record,
    Source,
    chassis_from,
    clean,
    clean_serial,
    decode,
    detection_id,
    first,
    from_epoch,
    host_facts,
    interfaces_from,
    is_virtual,
    load_json,
    newest_first,
    printer_connection,
    printer_kind,
    records,
    short,
    snapshot,
    to_int,
    usable_uuid,
)
from shared.schema import (
    AntivirusProduct,
    Chassis,
    Detection,
    Detections,
    DetectionStatus,
    Firewall,
    FirewallProfile,
    Hardware,
    InterfaceKind,
    Monitor,
    Network,
    OperatingSystem,
    Peripheral,
    Peripherals,
)

NAME = "darwin"
DATA_TYPES = ("SPHardwareDataType", "SPSoftwareDataType", "SPDisplaysDataType", "SPPrintersDataType")
XPROTECT = Path("/Library/Apple/System/Library/CoreServices/XProtect.bundle")
SOCKETFILTERFW = "/usr/libexec/ApplicationFirewall/socketfilterfw"
# XProtect Remediator (macOS 12.3 and later; it replaced MRT) writes one structured result per plug-in and scan to
# the unified log; reading the log needs no root. Seven days hold dozens of scans and every detection since the
# previous reports, at a bounded cost.
XPR_LOG = ["log", "show", "--style", "ndjson", "--last", "7d", "--predicate",
           'subsystem == "com.apple.XProtectFramework.PluginAPI" AND category == "XPEvent.structured"']
_COMMAND_TIMEOUT_S = 20.0  # system_profiler with displays takes a few seconds on old Macs


class LiveSource(LiveBase):
    """This Mac; system_profiler runs once for all data types."""

    platform = NAME
    live = True

    def __init__(self, timeout: float = _COMMAND_TIMEOUT_S) -> None:
        super().__init__()
        self.timeout = min(timeout, _COMMAND_TIMEOUT_S)
        self._profile: dict[str, Any] | ProbeError | None = None

    def _command(self, args: list[str]) -> bytes:
        try:
            done = subprocess.run(args, capture_output=True, timeout=self.timeout, check=False,
                                  stdin=subprocess.DEVNULL, env={**os.environ, "LC_ALL": "C"})
        except FileNotFoundError:
            raise ProbeError("not_found", f"{args[0]} not found") from None
        except subprocess.TimeoutExpired:
            raise ProbeError("timeout", f"{' '.join(args)} killed after {self.timeout:.0f} s") from None
        except OSError as exc:
            raise ProbeError("probe_failed", f"{' '.join(args)}: {exc}") from None
        if done.returncode != 0:
            raise ProbeError("probe_failed", f"{' '.join(args)}: exit {done.returncode}")
        return done.stdout

    def _profiler(self, data_type: str) -> bytes:
        if self._profile is None:
            try:
                raw = self._command(["system_profiler", *DATA_TYPES, "-json"])
                loaded = json.loads(decode(raw))
                self._profile = loaded if isinstance(loaded, dict) else ProbeError("parse_error", "system_profiler")
            except ProbeError as exc:
                self._profile = exc
            except ValueError as exc:
                self._profile = ProbeError("parse_error", f"system_profiler: {exc}")
        if isinstance(self._profile, ProbeError):
            raise self._profile
        return json.dumps({data_type: self._profile.get(data_type, [])}, indent=2).encode()

    def _read(self, name: str) -> bytes:
        """The raw output ``name``."""
        if name == HOST:
            return snapshot()
        stem = name.removesuffix(".json")
        if stem in DATA_TYPES:
            return self._profiler(stem)
        if name == "socketfilterfw-globalstate":
            return self._command([SOCKETFILTERFW, "--getglobalstate"])
        if name == "hardware-ports":
            return self._command(["networksetup", "-listallhardwareports"])
        if name == "route-default":
            return self._command(["route", "-n", "get", "default"])
        if name == "XProtectRemediator.ndjson":
            return self._command(XPR_LOG)
        if name == "XProtect-Info.plist":
            try:
                return (XPROTECT / "Contents/Info.plist").read_bytes()
            except OSError as exc:
                raise ProbeError("not_found", f"XProtect: {exc}") from None
        if name == "XProtect.json":
            try:
                modified = (XPROTECT / "Contents").stat().st_mtime
            except OSError as exc:
                raise ProbeError("not_found", f"XProtect: {exc}") from None
            return json.dumps({"modified": modified}).encode()
        raise ProbeError("not_found", f"no macOS probe named {name}")

    def names(self, prefix: str) -> list[str]:
        """macOS sources are a fixed set."""
        return []


def live_source(timeout: float) -> Source:
    """This Mac as a source."""
    return LiveSource(timeout)


def source_names(src: Source) -> list[str]:
    """Every output a capture saves."""
    return [*(f"{t}.json" for t in DATA_TYPES), "socketfilterfw-globalstate", "hardware-ports", "route-default",
            "XProtect-Info.plist", "XProtect.json", "XProtectRemediator.ndjson", HOST]


# ---------------------------------------------------------------- pure parsers


def profile_items(text: str, data_type: str) -> list[Record]:
    """The items of one data type in ``system_profiler -json`` output."""
    data = load_json(text)
    if not isinstance(data, dict):
        raise ValueError("system_profiler output is not a JSON object")
    return records(data.get(data_type))


def memory_bytes(text: Any) -> int | None:
    """'24 GB' -> bytes (system_profiler counts in binary units)."""
    match = re.match(r"^\s*([\d.]+)\s*([KMGT])B\s*$", str(text or ""))
    if not match:
        return None
    return int(float(match.group(1)) * 1024 ** "KMGT".index(match.group(2)) * 1024)


def cpu_counts(hw: Record) -> tuple[int | None, int | None]:
    """(cores, threads): Apple silicon prints 'proc 8:4:4' (total:performance:efficiency), Intel an int."""
    value = hw.get("number_processors")
    if isinstance(value, str):
        match = re.match(r"^proc (\d+)", value.strip())
        cores = int(match.group(1)) if match else to_int(value)
        return cores, cores  # no SMT on Apple silicon
    cores = to_int(value)
    hyperthreading = str(hw.get("platform_cpu_htt", "")).endswith("enabled")
    return cores, (cores * 2 if cores and hyperthreading else cores)


def mac_chassis(machine_name: str | None, model: str | None) -> Chassis | None:
    """Chassis from the marketing name: MacBook is a laptop, Xserve a server, the rest desktops."""
    if is_virtual(machine_name, model):
        return "virtual"
    name = (machine_name or "").lower()
    if not name:
        return chassis_from([], None, model)
    if "macbook" in name:
        return "laptop"
    if "xserve" in name:
        return "server"
    return "desktop"


def parse_firewall_state(text: str) -> FirewallProfile:
    """'Firewall is enabled. (State = 1)' -> the application firewall profile (state 2 blocks all)."""
    match = re.search(r"State\s*=\s*(\d+)", text)
    if match:
        enabled: bool | None = int(match.group(1)) >= 1
    elif re.search(r"\b(enabled|on)\b", text, re.I):
        enabled = True
    elif re.search(r"\b(disabled|off)\b", text, re.I):
        enabled = False
    else:
        raise ValueError(f"unexpected socketfilterfw output {text.strip()[:80]!r}")
    return FirewallProfile(name="application", enabled=enabled, active=True)


def parse_os_version(text: str) -> tuple[str | None, str | None, str | None]:
    """'macOS 14.4.1 (23E224)' -> (name, version, build)."""
    match = re.match(r"^\s*(.*?)\s+([\d.]+)\s*(?:\((\w+)\))?\s*$", text or "")
    if not match:
        return clean(text), None, None
    return match.group(1) or None, match.group(2), match.group(3)


def parse_hardware_ports(text: str) -> dict[str, str]:
    """Device -> port name from ``networksetup -listallhardwareports`` ('Hardware Port: Wi-Fi' / 'Device: en0')."""
    ports: dict[str, str] = {}
    port = None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Hardware Port":
            port = value.strip()
        elif key.strip() == "Device" and port:
            ports[value.strip()] = port
    return ports


def port_kind(port: str) -> InterfaceKind:
    """The interface kind a macOS hardware port name says."""
    lowered = port.lower()
    if "wi-fi" in lowered or "airport" in lowered:
        return "wifi"
    if "bridge" in lowered or "bluetooth" in lowered or "iphone" in lowered or "vpn" in lowered:
        return "virtual"
    if "ethernet" in lowered or "lan" in lowered:
        return "ethernet"
    return "other"


def pnp_id(vendor_hex: Any) -> str | None:
    """The EDID three-letter id from system_profiler's display vendor id (hex of the same 16-bit word)."""
    try:
        word = int(str(vendor_hex), 16)
    except ValueError:
        return None
    letters = [(word >> shift) & 0x1F for shift in (10, 5, 0)]
    return "".join(chr(64 + n) for n in letters) if all(1 <= n <= 26 for n in letters) else None


def parse_displays(items: list[Record]) -> list[Monitor]:
    """Monitors from SPDisplaysDataType's per-GPU ``spdisplays_ndrvs`` lists."""
    monitors = []
    for gpu in items:
        displays = gpu.get("spdisplays_ndrvs")
        for item in displays if isinstance(displays, list) else []:
            if not isinstance(item, dict):
                continue
            year = to_int(item.get("_spdisplays_display-year"))
            monitors.append(Monitor(
                manufacturer=pnp_id(item.get("_spdisplays_display-vendor-id")),
                model=clean(item.get("_name")),
                serial=clean_serial(item.get("_spdisplays_display-serial-number")
                                    or item.get("spdisplays_display-serial-number")),
                year_of_manufacture=year if year and 1990 <= year <= 2100 else None,
                source="system_profiler",
            ))
    return monitors[:16]


# ---------------------------------------------------------------- facts


def _profile(src: Source, errors: Errors, data_type: str, family: str, *, optional: bool = False) -> list[Record]:
    items = errors.read(src, f"{data_type}.json", family, lambda text: profile_items(text, data_type),
                        optional=optional)
    return items or []


def hostname(src: Source, errors: Errors) -> str | None:
    """Computer name from SPSoftwareDataType, else the psutil snapshot."""
    software = first(_profile(src, errors, "SPSoftwareDataType", "os"))
    name = clean(software.get("local_host_name")) or clean(software.get("computer_name"))
    if name:
        return name
    host = host_facts(src, errors, "network")
    return host.hostname if host else None


def identity(src: Source, errors: Errors) -> list[tuple[str, str]]:
    """The hardware UUID."""
    uuid = usable_uuid(first(_profile(src, errors, "SPHardwareDataType", "identity")).get("platform_UUID"))
    return [("platform_uuid", uuid)] if uuid else []


def hardware(src: Source, errors: Errors) -> Hardware:
    """SPHardwareDataType."""
    hw = first(_profile(src, errors, "SPHardwareDataType", "hardware"))
    if not hw:
        return Hardware()
    cores, threads = cpu_counts(hw)
    name, model = clean(hw.get("machine_name")), clean(hw.get("machine_model"))
    boot_rom = clean(hw.get("boot_rom_version"))
    return Hardware(
        vendor="Apple Inc." if not is_virtual(model) else None,
        model=clean(f"{name} ({model})") if name and model else name or model,
        serial=clean_serial(hw.get("serial_number")),
        chassis=mac_chassis(name, model),
        cpu_model=clean(hw.get("chip_type")) or clean(hw.get("cpu_type")),
        cpu_cores=cores,
        cpu_threads=threads,
        ram_bytes=memory_bytes(hw.get("physical_memory")),
        bios_vendor="Apple Inc." if boot_rom else None,
        bios_version=boot_rom,
        bios_date=None,  # Apple firmware carries no release date; the model identifier dates a Mac
    )


def operating_system(src: Source, errors: Errors) -> OperatingSystem:
    """SPSoftwareDataType and the psutil boot time."""
    software = first(_profile(src, errors, "SPSoftwareDataType", "os"))
    name, version, build = parse_os_version(str(software.get("os_version") or ""))
    host = host_facts(src, errors, "os")
    return OperatingSystem(
        name=clean(name), version=short(version), build=short(build),
        architecture=short(host.machine) if host else None,
        is_server=False if name else None,
        last_boot=from_epoch(host.boot_time) if host else None,
    )


def antivirus(src: Source, errors: Errors) -> list[AntivirusProduct]:
    """XProtect, Apple's built-in scanner: its version and when its bundle last changed."""
    family = "antivirus"
    try:
        info = plistlib.loads(src.read_bytes("XProtect-Info.plist"))
    except ProbeError as exc:
        errors.add(family, exc.error, exc.detail)
        return []
    except Exception as exc:  # plistlib raises ValueError, ExpatError and more on a damaged file
        errors.parsed(family, "XProtect-Info.plist", exc)
        return []
    state_text = errors.optional_text(src, "XProtect.json", family)
    modified = None
    if state_text:
        try:
            state = load_json(state_text)
            modified = from_epoch(state.get("modified")) if isinstance(state, dict) else None
        except ValueError as exc:
            errors.parsed(family, "XProtect.json", exc)
    return [AntivirusProduct(
        name="XProtect", enabled=True, up_to_date=None, signatures_updated_at=modified, source="xprotect",
        version=short(info.get("CFBundleShortVersionString")) if isinstance(info, dict) else None,
        detail="built into macOS and always on; update date is the bundle's modification time",
    )]


def firewall(src: Source, errors: Errors) -> Firewall:
    """The application firewall, from ``socketfilterfw --getglobalstate``."""
    text = errors.text(src, "socketfilterfw-globalstate", "firewall")
    if text is None:
        return Firewall()
    try:
        profile = parse_firewall_state(text)
    except ValueError as exc:
        errors.parsed("firewall", "socketfilterfw-globalstate", exc)
        return Firewall()
    return Firewall(enabled=profile.enabled, source="socketfilterfw", profiles=[profile])


def network(src: Source, errors: Errors) -> Network:
    """Interfaces from the psutil snapshot, the gateway from ``route -n get default``."""
    host = host_facts(src, errors, "network")
    route = errors.text(src, "route-default", "network")
    match = re.search(r"gateway:\s*(\S+)", route or "")
    interfaces = interfaces_from(host.interfaces) if host else []
    ports_text = errors.optional_text(src, "hardware-ports", "network")
    ports = parse_hardware_ports(ports_text) if ports_text else {}
    interfaces = [i.model_copy(update={"kind": port_kind(ports[i.name])}) if i.name in ports else i
                  for i in interfaces]
    return Network(interfaces=interfaces, default_gateway=short(match.group(1)) if match else None)


def peripherals(src: Source, errors: Errors) -> Peripherals:
    """Printers from SPPrintersDataType, monitors from SPDisplaysDataType."""
    family = "peripherals"
    devices = []
    for item in _profile(src, errors, "SPPrintersDataType", family, optional=True):
        name = clean(item.get("_name"))
        if name:
            devices.append(Peripheral(name=name, kind=printer_kind(name),
                                      connection=printer_connection(name, clean(item.get("uri")))))
    monitors = parse_displays(_profile(src, errors, "SPDisplaysDataType", family, optional=True))
    return Peripherals(devices=devices[:128], monitors=monitors)


# ---------------------------------------------------------------- detections: XProtect Remediator's results

XPR = "XProtect Remediator"
_CLEAN = "NoThreatDetected"


def _xpr_time(value: Any) -> datetime | None:
    """'2024-05-18 08:45:02.123456+0700' (log show's ndjson timestamp) as an aware datetime, else None."""
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S.%f%z")
    except ValueError:
        return None


def parse_xprotect_events(text: str) -> tuple[int, list[Detection]]:
    """(results seen, detections) from ``log show --style ndjson`` of XProtect Remediator's structured events.

    Each plug-in (named for the malware family it hunts: XProtectRemediatorAdload ...) reports
    ``status_message`` 'NoThreatDetected' with an empty ``caused_by`` when clean; anything else naming a threat
    or listing what caused it is a detection, remediated when the status says so.
    """
    seen, found = 0, []
    for line in text.splitlines():
        try:
            event = json.loads(line)
            detail = json.loads(event.get("eventMessage") or "{}") if isinstance(event, dict) else None
        except (ValueError, TypeError):
            continue
        if not isinstance(detail, dict):
            continue
        seen += 1
        status_text = str(detail.get("status_message") or "")
        cause = detail.get("caused_by")
        caused: list[Any] = cause if isinstance(cause, list) else []
        if status_text == _CLEAN or not (caused or re.search(r"threat|detect|remediat", status_text, re.I)):
            continue
        plugin = str(event.get("processImagePath") or "").rsplit("/", 1)[-1]
        threat = clean(plugin.removeprefix("XProtectRemediator")) or clean(status_text) or XPR
        resources = [r for r in (clean(c if isinstance(c, str) else json.dumps(c)) for c in caused[:16]) if r]
        when = _xpr_time(event.get("timestamp"))
        lowered = status_text.lower()
        status: DetectionStatus = ("failed" if "fail" in lowered else "remediated" if "remediat" in lowered
                                   else "active")
        found.append(Detection(
            id=detection_id("xprotect", when, threat, resources[0] if resources else None), threat=threat,
            detected_at=when, resources=resources, action="remove" if status != "active" else None,
            action_success={"remediated": True, "failed": False}.get(status),
            remediated_at=when if status == "remediated" else None, status=status, source="xprotect", product=XPR,
        ))
    return seen, found


def detections(src: Source, errors: Errors, antivirus: list[AntivirusProduct]) -> Detections:
    """XProtect Remediator's results from the unified log.

    Readable only when the log holds its scans: with none in seven days (the log was cleared, or a macOS that no
    longer writes them) its silence is no zero, and XProtect is listed as unreadable.
    """
    family = "detections"
    text = errors.text(src, "XProtectRemediator.ndjson", family)
    if text is None:
        return Detections(readable=False, unreadable=["XProtect"])
    seen, items = parse_xprotect_events(text)
    if not seen:
        errors.add(family, "not_found", "no XProtect Remediator scan in the unified log for the last 7 days")
        return Detections(readable=False, unreadable=["XProtect"])
    found, truncated = newest_first(items)
    return Detections(readable=True, sources=["xprotect"], items=found, truncated=truncated)
