"""Windows: one PowerShell process emits every source; pure parsers turn ConvertTo-Json output into facts.

Each source is what ``<probe> | ConvertTo-Json`` prints, so a capture folder can also be filled by hand on a
PC with PowerShell. Parsers accept one object or a list, the three date styles and any text encoding.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from agent.collectors._common import (
    HOST,
    MAX_DETECTIONS,
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
    from_epoch,
    interfaces_from,
    load_json,
    newest_first,
    overall,
    parse_date,
    parse_host,
    parse_when,
    printer_connection,
    printer_kind,
    records,
    short,
    snapshot,
    to_bool,
    to_int,
    usable_uuid,
)
from shared.antivirus import is_builtin_antivirus
from shared.schema import (
    AntivirusProduct,
    Detection,
    Detections,
    DetectionStatus,
    Disk,
    DiskKind,
    Firewall,
    FirewallProfile,
    Hardware,
    Monitor,
    Network,
    OperatingSystem,
    Peripheral,
    Peripherals,
    Severity,
)

NAME = "windows"

# Registry keys (under HKLM\SOFTWARE, read in the 64-bit view and under WOW6432Node) where products keep their own
# licence and signature facts. Bkav and CMC are absent: neither documents where its installation keeps a licence
# or signature date, so the agent reports what Security Center and the services say of them and no more.
_VENDOR_KEYS = (
    "KasperskyLab\\protected\\*\\Data",  # LicDaysTillExpiration, LicKeyType, LastSuccessfulUpdate
    "ESET\\ESET Security\\CurrentVersion\\Info",  # ProductVersion, ScannerVersion, AppDataDir (licence file)
    "BitDefender\\Install",  # SurveyDataInfo: JSON with days_left
    "BitDefender\\About",  # ProductName, ProductVersion
    "Avira\\Antivirus",  # VdfVersion
    "F-Secure\\Ultralight\\Updates\\aquarius\\*",  # file_set_visible_version
    "F-Secure\\CCF\\DLLHoster\\100\\Plugins\\CosmosService",  # DataPath (subscriptions file)
)

# Name -> the PowerShell pipeline whose ConvertTo-Json output is that source. Select-Object keeps the output
# small and stable; properties a Windows version lacks come out as null.
PROBES: dict[str, str] = {
    "Win32_BIOS.json": "Get-CimInstance Win32_BIOS | Select-Object Manufacturer,Name,SerialNumber,"
    "SMBIOSBIOSVersion,ReleaseDate,Version",
    "Win32_ComputerSystem.json": "Get-CimInstance Win32_ComputerSystem | Select-Object Manufacturer,Model,"
    "PCSystemType,TotalPhysicalMemory,Domain,HypervisorPresent,Name",
    "Win32_ComputerSystemProduct.json": "Get-CimInstance Win32_ComputerSystemProduct | Select-Object UUID,"
    "IdentifyingNumber,Vendor,Name",
    "Win32_SystemEnclosure.json": "Get-CimInstance Win32_SystemEnclosure | Select-Object ChassisTypes,"
    "Manufacturer,SerialNumber,SMBIOSAssetTag",
    "Win32_OperatingSystem.json": "Get-CimInstance Win32_OperatingSystem | Select-Object Caption,Version,"
    "BuildNumber,ProductType,InstallDate,LastBootUpTime,OSArchitecture,CSName",
    "Win32_Processor.json": "Get-CimInstance Win32_Processor | Select-Object Name,NumberOfCores,"
    "NumberOfLogicalProcessors,Manufacturer",
    "Win32_PhysicalMemory.json": "Get-CimInstance Win32_PhysicalMemory | Select-Object Capacity",
    "PhysicalDisk.json": "Get-PhysicalDisk | Select-Object FriendlyName,Model,MediaType,BusType,Size",
    # productExeExists tells a product from the stale entry an uninstalled one leaves behind; only file paths
    # ("C:\...", "%ProgramFiles%\...") are tested, not URIs such as Defender's "windowsdefender://".
    "AntiVirusProduct.json": "Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct | "
    "Select-Object displayName,instanceGuid,pathToSignedProductExe,pathToSignedReportingExe,productState,timestamp,"
    "@{n='productExeExists';e={if ($_.pathToSignedProductExe -match '^([A-Za-z]:\\\\|%)') "
    "{Test-Path -LiteralPath ([Environment]::ExpandEnvironmentVariables($_.pathToSignedProductExe))}}}",
    "MpComputerStatus.json": "Get-MpComputerStatus | Select-Object AMRunningMode,AMServiceEnabled,AMProductVersion,"
    "AMEngineVersion,AntivirusEnabled,AntivirusSignatureAge,AntivirusSignatureLastUpdated,AntivirusSignatureVersion,"
    "DefenderSignaturesOutOfDate,RealTimeProtectionEnabled,IsTamperProtected,ProductStatus,IsVirtualMachine",
    # Each product's own licence and signature facts, where it keeps them (see "vendor facts" below). ReadAt is
    # the PC's local time of the read: Kaspersky and Bitdefender count days left from that day.
    "AntivirusVendors.json": "$at = (Get-Date).ToString('yyyy-MM-ddTHH:mm:sszzz'); Get-ItemProperty -Path "
    + ",".join(f"'HKLM:\\SOFTWARE\\{view}{key}'" for key in _VENDOR_KEYS for view in ("", "WOW6432Node\\"))
    + " -ErrorAction SilentlyContinue | Select-Object @{n='Key';e={$_.PSPath -replace '^.*::',''}},"
    "@{n='ReadAt';e={$at}},LicDaysTillExpiration,LicKeyType,LastSuccessfulUpdate,ProductName,ProductVersion,"
    "ScannerVersion,SurveyDataInfo,VdfVersion,file_set_visible_version,"
    # ESET keeps its licence in a UTF-16 XML file under AppDataDir; the active product's expiry is enough.
    "@{n='LicenseExpiration';e={if ($_.AppDataDir) {$f = Join-Path $_.AppDataDir 'License\\license.lf'; "
    "if (Test-Path -LiteralPath $f) {$m = [regex]::Match((Get-Content -LiteralPath $f -Raw -Encoding Unicode), "
    "'ACTIVE_PRODUCT[^>]*?EXPIRATION_DATE=\"([^\"]+)\"'); if ($m.Success) {$m.Groups[1].Value}}}}},"
    # F-Secure keeps its subscriptions in a JSON file under the CosmosService plug-in's DataPath.
    "@{n='Subscriptions';e={if ($_.DataPath) {$f = Join-Path $_.DataPath 'safe.S-1-5-18.local.cosmos'; "
    "if (Test-Path -LiteralPath $f) {(Get-Content -LiteralPath $f -Raw | ConvertFrom-Json).local.windows.secl."
    "subscription.license_table | Select-Object appid,expiry_date}}}}",
    "AviraLicense.json": "Get-CimInstance -Namespace root/CIMV2/Applications/Avira_AntiVir -ClassName License_Info"
    " | Select-Object License_Expiration",
    "NetFirewallProfile.json": "Get-NetFirewallProfile | Select-Object Name,Enabled",
    "NetConnectionProfile.json": "Get-NetConnectionProfile | Select-Object Name,InterfaceAlias,NetworkCategory",
    "NetRoute.json": "Get-NetRoute -DestinationPrefix '0.0.0.0/0' | Select-Object NextHop,InterfaceAlias,RouteMetric",
    "NetAdapter.json": "Get-NetAdapter | Select-Object Name,InterfaceDescription,PhysicalMediaType,Virtual,Status",
    "Uninstall.json": "Get-ItemProperty 'HKLM:\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*',"
    "'HKLM:\\Software\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*' -ErrorAction SilentlyContinue"
    " | Where-Object DisplayName | Select-Object DisplayName,DisplayVersion,Publisher,InstallDate",
    "Win32_Service.json": "Get-CimInstance Win32_Service | Select-Object Name,DisplayName,State,StartMode",
    "WmiMonitorID.json": "Get-CimInstance -Namespace root/wmi -ClassName WmiMonitorID | Select-Object "
    "ManufacturerName,ProductCodeID,SerialNumberID,UserFriendlyName,WeekOfManufacture,YearOfManufacture",
    "Win32_Printer.json": "Get-CimInstance Win32_Printer | Select-Object Name,PortName,DriverName,Network,Local",
    "ImageDevices.json": "Get-CimInstance Win32_PnPEntity -Filter \"PNPClass='Image'\" | Select-Object Name,Status",
    "HotFix.json": "Get-HotFix | Select-Object HotFixID,InstalledOn",
    "MachineGuid.json": "(Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Cryptography').MachineGuid",
    # Defender's own history: one row per detection event, newest first, one more than a report carries (so the
    # parser knows the history was cut). Resources are cut to what the contract keeps. With another product
    # active both commands may throw 0x800106ba: Defender's history is then unreadable, not empty.
    "MpThreatDetection.json": "Get-MpThreatDetection | Sort-Object InitialDetectionTime -Descending | "
    f"Select-Object -First {MAX_DETECTIONS + 1} DetectionID,ThreatID,ThreatStatusID,CleaningActionID,ActionSuccess,"
    "InitialDetectionTime,LastThreatStatusChangeTime,RemediationTime,CurrentThreatExecutionStatusID,"
    "ThreatStatusErrorCode,AdditionalActionsBitMask,DetectionSourceTypeID,AMProductVersion,"
    "@{n='Resources';e={@($_.Resources | Select-Object -First 16)}}",
    # One row per threat: its name, category and severity (joined to the detections by ThreatID).
    "MpThreat.json": "Get-MpThreat | Select-Object ThreatID,ThreatName,CategoryID,SeverityID,TypeID,IsActive,"
    "DidThreatExecute",
}

# Every probe prints one JSON line as soon as it finishes, so a probe that hangs costs only itself: the
# lines printed before the kill are kept.
_PRELUDE = r"""
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
function Emit([string]$Name, [scriptblock]$Probe) {
  try {
    $r = & $Probe
    if ($null -eq $r) { $t = '' } else { $t = $r | ConvertTo-Json -Depth 3 }
    $line = @{ name = $Name; ok = [string]$t } | ConvertTo-Json -Compress
  } catch {
    $line = @{ name = $Name; error = $_.Exception.GetType().Name; message = [string]$_.Exception.Message } |
      ConvertTo-Json -Compress
  }
  [Console]::Out.WriteLine($line)
  [Console]::Out.Flush()
}
"""


def script() -> str:
    """The PowerShell script that prints every source, one JSON line each."""
    calls = "\n".join(f"Emit '{name}' {{ {pipeline} }}" for name, pipeline in PROBES.items())
    return _PRELUDE + calls + "\n"


def parse_script_output(text: str) -> dict[str, str | ProbeError]:
    """Source texts (or the reason each failed) from the script's JSON lines; broken lines are skipped."""
    out: dict[str, str | ProbeError] = {}
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        if "ok" in item:
            out[item["name"]] = str(item["ok"] or "")
        else:
            out[item["name"]] = _classify(str(item.get("error") or ""), str(item.get("message") or ""), item["name"])
    return out


def _classify(kind: str, message: str, name: str) -> ProbeError:
    lowered = f"{kind} {message}".lower()
    if "unauthorized" in lowered or "access denied" in lowered or "access is denied" in lowered:
        return ProbeError("permission_denied", f"{name}: {message}")
    if "invalid namespace" in lowered or "invalid class" in lowered or "commandnotfound" in lowered:
        return ProbeError("not_found", f"{name}: {message}")
    return ProbeError("probe_failed", f"{name}: {kind}: {message}")


class LiveSource(LiveBase):
    """This PC: one PowerShell process, started on first use and killed after ``timeout`` seconds."""

    platform = NAME
    live = True

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout
        self._outputs: dict[str, str | ProbeError] | None = None

    def _run(self) -> dict[str, str | ProbeError]:
        encoded = base64.b64encode(script().encode("utf-16-le")).decode("ascii")
        command = ["powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass",
                   "-EncodedCommand", encoded]
        begin = time.monotonic()
        try:
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    stdin=subprocess.DEVNULL, creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        except OSError as exc:
            return dict.fromkeys(PROBES, ProbeError("not_found", f"powershell.exe: {exc}"))
        try:
            raw, _ = proc.communicate(timeout=self.timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            proc.kill()
            raw, _ = proc.communicate()
            timed_out = True
        outputs = parse_script_output(decode(raw or b""))
        for name in PROBES:
            if name not in outputs:
                outputs[name] = (
                    ProbeError("timeout", f"PowerShell killed after {time.monotonic() - begin:.0f} s before {name}")
                    if timed_out
                    else ProbeError("probe_failed", f"PowerShell printed nothing for {name} (exit {proc.returncode})")
                )
        return outputs

    def _read(self, name: str) -> bytes:
        """The source's ConvertTo-Json text, running PowerShell once for all of them."""
        if name == HOST:
            return snapshot()
        if name not in PROBES:
            raise ProbeError("not_found", f"no Windows probe named {name}")
        if self._outputs is None:
            self._outputs = self._run()
        value = self._outputs[name]
        if isinstance(value, ProbeError):
            raise value
        return value.encode("utf-8")

    def names(self, prefix: str) -> list[str]:
        """Names under ``prefix`` among the fixed set of probes."""
        return [n for n in (*PROBES, HOST) if n.startswith(prefix)]


def live_source(timeout: float) -> Source:
    """This PC as a source."""
    return LiveSource(timeout)


def source_names(src: Source) -> list[str]:
    """Every output a capture saves."""
    return [*PROBES, HOST]


# ---------------------------------------------------------------- reading helpers


def _records(src: Source, name: str, family: str, errors: Errors, *, optional: bool = False) -> list[Record] | None:
    """The objects of ``name``; None when the source is unavailable (as opposed to empty)."""
    return errors.read(src, name, family, lambda text: records(load_json(text)), optional=optional)


def _record(src: Source, name: str, family: str, errors: Errors, *, optional: bool = False) -> Record:
    """The first object of ``name``; empty when the source is unavailable, empty or not objects."""
    found = _records(src, name, family, errors, optional=optional)
    return found[0] if found else {}


# ---------------------------------------------------------------- identity and hardware

def hostname(src: Source, errors: Errors) -> str | None:
    """Computer name from Win32_ComputerSystem, else the psutil snapshot."""
    name = clean(_record(src, "Win32_ComputerSystem.json", "hardware", errors).get("Name"))
    if name:
        return name
    text = errors.optional_text(src, HOST, "network")
    try:
        return parse_host(text).hostname if text else None
    except ValueError:
        return None


def identity(src: Source, errors: Errors) -> list[tuple[str, str]]:
    """SMBIOS UUID, then the registry's MachineGuid."""
    found: list[tuple[str, str]] = []
    uuid = usable_uuid(_record(src, "Win32_ComputerSystemProduct.json", "identity", errors).get("UUID"))
    if uuid:
        found.append(("smbios_uuid", uuid))
    guid = errors.read(src, "MachineGuid.json", "identity", load_json)
    if isinstance(guid, str) and clean(guid):
        found.append(("machine_guid", guid.strip().lower()))
    return found


_MEDIA: dict[object, DiskKind] = {3: "hdd", 4: "ssd", "hdd": "hdd", "ssd": "ssd"}


def parse_disks(items: list[Record]) -> list[Disk]:
    """Disks from Get-PhysicalDisk (MediaType 3 HDD, 4 SSD, 0 unspecified; PS 7 may print the names)."""
    disks: list[Disk] = []
    for item in items[:64]:
        media = item.get("MediaType")
        key = media.lower() if isinstance(media, str) else media if isinstance(media, int) else None
        kind = _MEDIA.get(key, "unknown")
        size = to_int(item.get("Size"))
        disks.append(Disk(model=clean(item.get("FriendlyName")) or clean(item.get("Model")),
                          size_bytes=size if size and size > 0 else None, kind=kind))
    return disks


def hardware(src: Source, errors: Errors) -> Hardware:
    """Hardware from Win32_BIOS, Win32_ComputerSystem(Product), Win32_SystemEnclosure, Win32_Processor, disks."""
    family = "hardware"
    bios = _record(src, "Win32_BIOS.json", family, errors)
    system = _record(src, "Win32_ComputerSystem.json", family, errors)
    product = _record(src, "Win32_ComputerSystemProduct.json", family, errors, optional=True)
    enclosure = _record(src, "Win32_SystemEnclosure.json", family, errors)
    cpus = _records(src, "Win32_Processor.json", family, errors) or []
    vendor = clean(system.get("Manufacturer")) or clean(product.get("Vendor"))
    model = clean(system.get("Model")) or clean(product.get("Name"))
    codes = [c for c in (to_int(v) for v in _as_list(enclosure.get("ChassisTypes"))) if c is not None]
    chassis = chassis_from(codes, vendor, model)
    if chassis is None and to_int(system.get("PCSystemType")) == 2:  # 2 = Mobile, when SMBIOS says nothing
        chassis = "laptop"
    memory = _records(src, "Win32_PhysicalMemory.json", family, errors, optional=True) or []
    installed = sum(to_int(m.get("Capacity")) or 0 for m in memory)
    disks = _records(src, "PhysicalDisk.json", family, errors, optional=True) or []
    return Hardware(
        vendor=vendor,
        model=model,
        serial=clean_serial(bios.get("SerialNumber")) or clean_serial(enclosure.get("SerialNumber"))
        or clean_serial(product.get("IdentifyingNumber")),
        chassis=chassis,
        cpu_model=clean(cpus[0].get("Name")) if cpus else None,
        cpu_cores=_sum(c.get("NumberOfCores") for c in cpus),
        cpu_threads=_sum(c.get("NumberOfLogicalProcessors") for c in cpus),
        ram_bytes=installed or to_int(system.get("TotalPhysicalMemory")),
        disks=parse_disks(disks),
        bios_vendor=clean(bios.get("Manufacturer")),
        bios_version=clean(bios.get("SMBIOSBIOSVersion")) or clean(bios.get("Version")),
        bios_date=parse_date(bios.get("ReleaseDate")),
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _sum(values: Any) -> int | None:
    numbers = [n for n in (to_int(v) for v in values) if n is not None]
    return sum(numbers) if numbers else None


# ---------------------------------------------------------------- operating system

_ARCH = (("arm", "arm64"), ("64", "x86_64"), ("32", "x86"))


def operating_system(src: Source, errors: Errors) -> OperatingSystem:
    """Win32_OperatingSystem plus the newest hotfix date."""
    family = "os"
    info = _record(src, "Win32_OperatingSystem.json", family, errors)
    arch_text = (clean(info.get("OSArchitecture")) or "").lower()
    product_type = to_int(info.get("ProductType"))  # 1 workstation, 2 domain controller, 3 server
    caption = clean(info.get("Caption"))
    is_server = None if product_type is None else product_type != 1
    if is_server is None and caption:
        is_server = "server" in caption.lower()
    hotfixes = _records(src, "HotFix.json", family, errors, optional=True) or []
    dates = [d for d in (parse_date(h.get("InstalledOn")) for h in hotfixes) if d is not None]
    boot = parse_when(info.get("LastBootUpTime"))
    return OperatingSystem(
        name=caption,
        version=short(info.get("Version")),
        build=short(info.get("BuildNumber")),
        architecture=next((arch for key, arch in _ARCH if key in arch_text), None) if arch_text else None,
        is_server=is_server,
        install_date=parse_date(info.get("InstallDate")),
        last_boot=boot.replace(microsecond=0) if boot else boot_time(src, errors),
        last_update_date=max(dates) if dates else None,
    )


# ---------------------------------------------------------------- antivirus

# The catalogue lists products common in Vietnamese offices that often do not register with Security Center
# (Bkav, CMC, some Kaspersky and Dr.Web editions) or run on Windows Server, where Security Center does not
# exist. They are found by their installed-program names and their service names.


@dataclass(frozen=True)
class KnownProduct:
    """One product of the catalogue: its display name and how to recognise it."""

    name: str
    program: re.Pattern[str]  # matched against installed programs' and Security Center's display names
    service: re.Pattern[str]  # matched against service names (not display names, which are translated)


def _p(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


CATALOGUE: tuple[KnownProduct, ...] = (
    KnownProduct("Bkav", _p(r"\bbkav"), _p(r"^bkav")),
    KnownProduct("CMC Antivirus", _p(r"\bcmc\b.*(anti.?virus|security|endpoint)"), _p(r"^cmc(av|sec|agent)")),
    KnownProduct("Kaspersky", _p(r"kaspersky"), _p(r"^(avp(\.\w+)*[\d.]*|kavfs\w*|ksde\w*|kavfsslp)$")),
    KnownProduct("Dr.Web", _p(r"dr\.?\s?web"), _p(r"^drweb")),
    KnownProduct("ESET", _p(r"\beset\b"), _p(r"^ekrn$")),
    KnownProduct("Bitdefender", _p(r"bitdefender"), _p(r"^(vsserv|epsecurityservice|epredline|bdredline)$")),
    KnownProduct("Avast", _p(r"\bavast\b"), _p(r"^(avast!? antivirus|avastsvc)$")),
    KnownProduct("AVG", _p(r"\bavg\b.*(anti.?virus|security)"), _p(r"^avg(svc|wd)$")),
    KnownProduct("Symantec/Norton", _p(r"symantec endpoint|\bnorton\b"), _p(r"^(sepmasterservice|nortonsecurity)$")),
    KnownProduct("McAfee", _p(r"mcafee|trellix endpoint"), _p(r"^(mfemms|mfefire|mcshield)$")),
    KnownProduct("Trend Micro", _p(r"trend micro|apex one|officescan"), _p(r"^(ntrtscan|tmlisten)$")),
    KnownProduct("Sophos", _p(r"sophos.*(endpoint|anti.?virus|intercept)"), _p(r"^(savservice|sophos ?mcs ?agent)$")),
    KnownProduct("Malwarebytes", _p(r"malwarebytes"), _p(r"^mbamservice$")),
)


def known_by_program(display_name: str) -> KnownProduct | None:
    """The catalogue entry an installed program's (or Security Center product's) name belongs to."""
    return next((k for k in CATALOGUE if k.program.search(display_name)), None)


def known_by_service(service_name: str) -> KnownProduct | None:
    """The catalogue entry a service name belongs to."""
    return next((k for k in CATALOGUE if k.service.search(service_name.strip())), None)


_STATES = {0: (False, "off"), 1: (True, "on"), 2: (False, "snoozed"), 3: (False, "expired")}
_SIGNATURES = {0: (True, "up to date"), 1: (False, "out of date")}


def decode_product_state(value: int) -> tuple[bool | None, bool | None, bool | None, str]:
    """(enabled, up_to_date, licence_problem, detail) from Security Center's productState."""
    enabled, state = _STATES.get((value >> 12) & 0xF, (None, "unknown state"))
    up_to_date, signatures = _SIGNATURES.get((value >> 4) & 0xF, (None, "unknown signature state"))
    licence = True if state == "expired" else None
    return enabled, up_to_date, licence, f"productState 0x{value:06X}: {state}, signatures {signatures}"


def _wsc_time(value: Any) -> datetime | None:
    """Security Center's ``timestamp`` (RFC 1123, e.g. 'Mon, 04 Mar 2024 18:28:49 GMT')."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parsedate_to_datetime(value).astimezone(timezone.utc)
    except (TypeError, ValueError):
        return parse_when(value)


def parse_security_center(items: list[Record]) -> list[AntivirusProduct]:
    """Products from root/SecurityCenter2 AntiVirusProduct, one per display name.

    Uninstalled products leave stale entries and some products register twice under two GUIDs. An entry whose
    product executable is known to be missing is dropped; of the entries with one name, the most recently
    updated wins, then the one that says it is on.
    """
    best: dict[str, tuple[tuple[float, int], AntivirusProduct]] = {}
    for item in items:
        name = clean(item.get("displayName"))
        state = to_int(item.get("productState"))
        if name is None or item.get("productExeExists") is False:  # the product's files are gone: stale entry
            continue
        if state is None:
            product = AntivirusProduct(name=name, source="security_center", detail="productState missing")
        else:
            enabled, current, licence, detail = decode_product_state(state)
            product = AntivirusProduct(name=name, enabled=enabled, up_to_date=current, product_state=state,
                                       licence_problem=licence, source="security_center", detail=detail)
        stamp = _wsc_time(item.get("timestamp"))
        rank = (stamp.timestamp() if stamp else 0.0, 1 if product.enabled else 0)
        key = name.casefold()
        if key not in best or rank > best[key][0]:
            best[key] = (rank, product)
    return [product for _, product in best.values()]


# Bits of MSFT_MpComputerStatus.ProductStatus (MpClient's MP_PRODUCT_STATUS flags).
_MP_SIGNATURES_OUT_OF_DATE = 0x20
_MP_NON_GENUINE = 0x2000
_MP_EXPIRED = 0x4000
_MP_NEVER = 65535  # AntivirusSignatureAge when signatures were never updated


def parse_defender(status: Record) -> AntivirusProduct | None:
    """Microsoft Defender from Get-MpComputerStatus; None when the record is empty."""
    if not status:
        return None
    flags = to_int(status.get("ProductStatus"))
    age = to_int(status.get("AntivirusSignatureAge"))
    out_of_date = to_bool(status.get("DefenderSignaturesOutOfDate"))
    up_to_date: bool | None
    if age == _MP_NEVER:
        up_to_date = False
    elif out_of_date is not None:
        up_to_date = not out_of_date
    elif flags is not None:
        up_to_date = not flags & _MP_SIGNATURES_OUT_OF_DATE
    else:
        up_to_date = None
    av_on = to_bool(status.get("AntivirusEnabled"))
    realtime = to_bool(status.get("RealTimeProtectionEnabled"))
    mode = clean(status.get("AMRunningMode"))
    enabled = None if av_on is None and realtime is None else bool(av_on) and realtime is not False
    if mode and "passive" in mode.lower():
        enabled = False  # another product is the active one; Defender only scans on demand
    age_text = f"signature age {age} d" if age is not None else None
    detail = [f"mode {mode}" if mode else None,
              "signatures never updated" if age == _MP_NEVER else age_text,
              f"ProductStatus 0x{flags:X}" if flags is not None else None]
    return AntivirusProduct(
        name="Microsoft Defender Antivirus",
        enabled=enabled,
        up_to_date=up_to_date,
        signatures_updated_at=None if age == _MP_NEVER else parse_when(status.get("AntivirusSignatureLastUpdated")),
        signature_version=None if age == _MP_NEVER else short(status.get("AntivirusSignatureVersion")),
        source="defender",
        version=short(status.get("AMProductVersion")),
        licence_problem=None if flags is None else bool(flags & (_MP_NON_GENUINE | _MP_EXPIRED)),
        detail=clean(", ".join(d for d in detail if d)),
    )


def parse_catalogue(services: list[Record], programs: list[Record]) -> dict[str, AntivirusProduct]:
    """Catalogue products found among services (running or not) and installed programs, by catalogue name."""
    found: dict[str, AntivirusProduct] = {}
    for svc in services:
        name = clean(svc.get("Name"))
        known = known_by_service(name) if name else None
        if known is None:
            continue
        running = (clean(svc.get("State")) or "").lower() == "running"
        previous = found.get(known.name)
        if previous is not None and previous.enabled:
            continue
        state = "running" if running else (short(svc.get("State")) or "state unknown").lower()
        found[known.name] = AntivirusProduct(name=known.name, enabled=running, source="service",
                                             detail=clean(f"service {name} {state}"))
    for prog in programs:
        display = clean(prog.get("DisplayName"))
        known = known_by_program(display) if display else None
        if known is None or display is None:
            continue
        version = short(prog.get("DisplayVersion"))
        if known.name in found:
            current = found[known.name]
            if current.source == "service" and current.version is None:
                found[known.name] = current.model_copy(update={"name": display, "version": version})
            continue
        found[known.name] = AntivirusProduct(name=display, source="installed_program", version=version,
                                             detail="installed program; protection state not reported")
    return found


# ---------------------------------------------------------------- vendor facts: licences and signatures

LicenceType = Literal["commercial", "trial", "free", "unknown"]

# Kaspersky's LicKeyType: 0 when no key is installed yet; otherwise the key type Kaspersky Security Center's
# Open API lists for KLLIC_KEY_TYPE (1 commercial, 2 beta, 3 trial, 4 test, 5 OEM, 6 subscription). Beta and
# test keys are time-limited evaluation keys, not a purchase.
_KASPERSKY_KEY_TYPES: dict[int, LicenceType] = {
    1: "commercial", 2: "trial", 3: "trial", 4: "trial", 5: "commercial", 6: "commercial",
}
_NEVER_UPDATED = 0xFFFFFFFF  # LastSuccessfulUpdate before the first update
_ESET_SCANNER = re.compile(r"^\s*(\d+)\s*\((\d{8})\)")  # ScannerVersion '27340 (20230531)'
_AVIRA_DATE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})")  # License_Expiration 'dd.mm.yyyy ...'
#: Vendor -> what names that vendor's products show in Security Center, services and installed programs.
VENDORS: dict[str, re.Pattern[str]] = {
    "kaspersky": _p(r"kaspersky"),
    "eset": _p(r"\beset\b"),
    "bitdefender": _p(r"bitdefender"),
    "avira": _p(r"\bavira\b"),
    "f-secure": _p(r"f-?secure|withsecure"),
}


@dataclass(frozen=True)
class VendorFacts:
    """What one vendor's product says of itself: its licence and signatures. None is 'not said'."""

    licence_expires: date | None = None
    licence_type: LicenceType | None = None
    signature_version: str | None = None
    signatures_updated_at: datetime | None = None
    version: str | None = None

    def merge(self, other: VendorFacts) -> VendorFacts:
        """These facts, completed by ``other`` where these say nothing."""
        return VendorFacts(**{k: getattr(self, k) if getattr(self, k) is not None else getattr(other, k)
                              for k in self.__dataclass_fields__})


def _read_day(item: Record) -> date | None:
    """The PC's local day when the registry was read (ReadAt, ISO 8601 with the PC's offset)."""
    text = clean(item.get("ReadAt"))
    try:
        return datetime.fromisoformat(text).date() if text else None
    except ValueError:
        return None


def _days_from(item: Record, value: Any) -> date | None:
    """The day ``value`` days after the read (a DWORD: 0xFFFFFFF4 is twelve days ago)."""
    days, day = to_int(value), _read_day(item)
    if days is None or day is None:
        return None
    if days >= 0x80000000:
        days -= 0x100000000
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


def _kaspersky(item: Record) -> VendorFacts:
    updated = to_int(item.get("LastSuccessfulUpdate"))
    stamp = from_epoch(updated) if updated not in (None, 0, _NEVER_UPDATED) else None
    key = to_int(item.get("LicKeyType"))
    if not key:  # no key installed yet: no licence to speak of
        return VendorFacts(signatures_updated_at=stamp)
    return VendorFacts(licence_type=_KASPERSKY_KEY_TYPES.get(key, "unknown"),
                       licence_expires=_days_from(item, item.get("LicDaysTillExpiration")),
                       signatures_updated_at=stamp)


def _eset(item: Record) -> VendorFacts:
    scanner = clean(item.get("ScannerVersion"))
    match = _ESET_SCANNER.match(scanner or "")
    # ESET prints only the day of its detection engine: midnight UTC of that day (never newer than it is).
    stamp = parse_when(match.group(2)) if match else None
    return VendorFacts(signature_version=match.group(1) if match else short(scanner),
                       signatures_updated_at=stamp, version=short(item.get("ProductVersion")),
                       licence_expires=parse_date(item.get("LicenseExpiration")))


def _bitdefender(item: Record) -> VendorFacts:
    survey = item.get("SurveyDataInfo")
    days = None
    if isinstance(survey, str):
        try:
            data = json.loads(survey)
        except ValueError:
            data = None
        days = data.get("days_left") if isinstance(data, dict) else None
    return VendorFacts(licence_expires=_days_from(item, days) if days is not None else None,
                       version=short(item.get("ProductVersion")))


def _f_secure(item: Record) -> VendorFacts:
    table = [s for s in _as_list(item.get("Subscriptions")) if isinstance(s, dict)]
    # Several subscriptions: the one of application 2 (the computer protection) is the one that matters.
    chosen = next((s for s in table if to_int(s.get("appid")) == 2), table[0] if table else None)
    expiry = from_epoch(to_int(chosen.get("expiry_date"))) if chosen else None
    return VendorFacts(signature_version=short(item.get("file_set_visible_version")),
                       licence_expires=expiry.date() if expiry else None)


def _dmy(day: str, month: str, year: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def parse_vendor_facts(items: list[Record], avira: list[Record] | None = None) -> dict[str, VendorFacts]:
    """Each vendor's facts about itself from the registry keys (either view) and Avira's License_Info."""
    found: dict[str, VendorFacts] = {}

    def add(vendor: str, facts: VendorFacts) -> None:
        found[vendor] = found[vendor].merge(facts) if vendor in found else facts

    kaspersky: list[VendorFacts] = []
    for item in items:
        key = (clean(item.get("Key")) or "").lower()
        if "\\kasperskylab\\" in key:
            kaspersky.append(_kaspersky(item))
        elif "\\eset\\" in key:
            add("eset", _eset(item))
        elif "\\bitdefender\\" in key:
            add("bitdefender", _bitdefender(item))
        elif "\\avira\\" in key:
            add("avira", VendorFacts(signature_version=short(item.get("VdfVersion"))))
        elif "\\f-secure\\" in key:
            add("f-secure", _f_secure(item))
    # Several protected products (an old version left behind): the one holding a key first.
    for facts in sorted(kaspersky, key=lambda f: f.licence_type is None):
        add("kaspersky", facts)
    for item in avira or []:
        match = _AVIRA_DATE.match(clean(item.get("License_Expiration")) or "")
        day = _dmy(*match.groups()) if match else None
        if day is not None:
            add("avira", VendorFacts(licence_expires=day))
    return {vendor: facts for vendor, facts in found.items() if facts != VendorFacts()}


def with_vendor_facts(products: list[AntivirusProduct], facts: dict[str, VendorFacts]) -> list[AntivirusProduct]:
    """Products completed with what their vendor's product says of itself (the product's own word wins)."""
    out = []
    for product in products:
        vendor = next((v for v, names in VENDORS.items() if names.search(product.name)), None)
        own = facts.get(vendor) if vendor else None
        if own is None:
            out.append(product)
            continue
        update: dict[str, Any] = {k: v for k, v in {
            "licence_expires": own.licence_expires, "licence_type": own.licence_type,
            "signature_version": own.signature_version, "signatures_updated_at": own.signatures_updated_at,
            "version": product.version or own.version,
        }.items() if v is not None}
        out.append(product.model_copy(update=update))
    return out


def antivirus(src: Source, errors: Errors) -> list[AntivirusProduct]:
    """Security Center first; without it (Windows Server) Defender; plus catalogue products it does not list."""
    family = "antivirus"
    center = _records(src, "AntiVirusProduct.json", family, errors)
    products = parse_security_center(center) if center is not None else []
    # On Windows the one built-in antivirus is Defender ("Windows Defender" in Security Center).
    listed_defender = next((p for p in products if is_builtin_antivirus(p.name, p.source)), None)
    if center is None or listed_defender is not None:
        # Get-MpComputerStatus often throws once another product has turned Defender off: expected, not news.
        quiet = listed_defender is not None and listed_defender.enabled is False
        status = _record(src, "MpComputerStatus.json", family, Errors() if quiet else errors)
        defender = parse_defender(status)
        if defender is not None and listed_defender is not None:
            # Security Center's verdict stands; Defender adds what it alone knows.
            merged = listed_defender.model_copy(update={
                "signatures_updated_at": defender.signatures_updated_at,
                "signature_version": defender.signature_version,
                "version": defender.version,
                "licence_problem": defender.licence_problem if defender.licence_problem is not None
                else listed_defender.licence_problem,
            })
            products[products.index(listed_defender)] = merged
        elif defender is not None:
            products.append(defender)
    services = _records(src, "Win32_Service.json", family, errors, optional=True) or []
    programs = _records(src, "Uninstall.json", family, errors, optional=True) or []
    covered = {k.name for p in products if (k := known_by_program(p.name)) is not None}
    products.extend(p for key, p in parse_catalogue(services, programs).items() if key not in covered)
    vendors = _records(src, "AntivirusVendors.json", family, errors, optional=True) or []
    avira = _records(src, "AviraLicense.json", family, errors, optional=True)
    return with_vendor_facts(products[:64], parse_vendor_facts(vendors, avira))


# ---------------------------------------------------------------- firewall

_CATEGORIES = {0: "public", 1: "private", 2: "domain", "public": "public", "private": "private",
               "domainauthenticated": "domain"}


def parse_firewall(profiles: list[Record], connections: list[Record] | None) -> Firewall:
    """Firewall from Get-NetFirewallProfile; Get-NetConnectionProfile (when known) says which profiles apply."""
    active: set[str] | None = None
    if connections is not None:
        active = set()
        for conn in connections:
            category = conn.get("NetworkCategory")
            key = category.lower() if isinstance(category, str) else category if isinstance(category, int) else None
            label = _CATEGORIES.get(key)
            if label:
                active.add(label)
    out = []
    for item in profiles[:16]:
        name = short(item.get("Name"))
        if name is None:
            continue
        out.append(FirewallProfile(name=name, enabled=to_bool(item.get("Enabled")),
                                   active=None if active is None else name.lower() in active))
    return Firewall(enabled=overall(out), source="netfirewallprofile" if out else None, profiles=out)


def firewall(src: Source, errors: Errors) -> Firewall:
    """Windows Firewall per profile."""
    profiles = _records(src, "NetFirewallProfile.json", "firewall", errors)
    if profiles is None:
        return Firewall()
    connections = _records(src, "NetConnectionProfile.json", "firewall", errors, optional=True)
    return parse_firewall(profiles, connections)


# ---------------------------------------------------------------- network


def network(src: Source, errors: Errors) -> Network:
    """psutil's interfaces, typed by Get-NetAdapter where known, and the default route's next hop."""
    family = "network"
    text = errors.text(src, HOST, family)
    interfaces = []
    if text is not None:
        try:
            interfaces = interfaces_from(parse_host(text).interfaces)
        except ValueError as exc:
            errors.parsed(family, HOST, exc)
    adapters = {str(a.get("Name")): a for a in _records(src, "NetAdapter.json", family, errors, optional=True) or []}
    for i, nic in enumerate(interfaces):
        adapter = adapters.get(nic.name)
        if adapter is None or nic.kind == "loopback":
            continue
        media = (clean(adapter.get("PhysicalMediaType")) or "").lower()
        if to_bool(adapter.get("Virtual")):
            interfaces[i] = nic.model_copy(update={"kind": "virtual"})
        elif "802.11" in media or "wireless" in media:
            interfaces[i] = nic.model_copy(update={"kind": "wifi"})
        elif "802.3" in media:
            interfaces[i] = nic.model_copy(update={"kind": "ethernet"})
    routes = _records(src, "NetRoute.json", family, errors, optional=True) or []
    hops = sorted((to_int(r.get("RouteMetric")) or 0, short(r.get("NextHop")) or "") for r in routes)
    gateway = next((hop for _, hop in hops if hop and hop != "0.0.0.0"), None)  # noqa: S104 - a route, not a bind
    return Network(interfaces=interfaces, default_gateway=gateway)


# ---------------------------------------------------------------- peripherals


def _chars(value: Any) -> str | None:
    """WmiMonitorID strings arrive as arrays of UTF-16 code units, padded with zeros."""
    if isinstance(value, list):
        return clean("".join(chr(c) for c in value if isinstance(c, int) and 0 < c < 0x110000))
    return clean(value)


def parse_monitors(items: list[Record]) -> list[Monitor]:
    """Monitors from WmiMonitorID."""
    monitors = []
    for item in items[:16]:
        year = to_int(item.get("YearOfManufacture"))
        monitors.append(Monitor(
            manufacturer=short(_chars(item.get("ManufacturerName"))),
            model=_chars(item.get("UserFriendlyName")) or _chars(item.get("ProductCodeID")),
            serial=clean_serial(_chars(item.get("SerialNumberID"))),
            year_of_manufacture=year if year and 1990 <= year <= 2100 else None,
            source="WmiMonitorID",
        ))
    return monitors


def parse_printers(items: list[Record]) -> list[Peripheral]:
    """Printers from Win32_Printer."""
    out = []
    for item in items:
        name = clean(item.get("Name"))
        if name is None:
            continue
        connection = printer_connection(name, clean(item.get("PortName")))
        # A printer shared by another PC ("\\PC\Printer") shows that PC's port (often USB001): from here it
        # is a network printer.
        if connection != "virtual" and (to_bool(item.get("Network")) or name.startswith("\\\\")):
            connection = "network"
        out.append(Peripheral(name=name, kind=printer_kind(f"{name} {item.get('DriverName') or ''}"),
                              connection=connection))
    return out


def peripherals(src: Source, errors: Errors) -> Peripherals:
    """Printers, imaging devices (scanners) and monitors."""
    family = "peripherals"
    devices = parse_printers(_records(src, "Win32_Printer.json", family, errors, optional=True) or [])
    for item in _records(src, "ImageDevices.json", family, errors, optional=True) or []:
        name = clean(item.get("Name"))
        if name and not any(d.name == name for d in devices):
            devices.append(Peripheral(name=name, kind="scanner", connection="usb" if "usb" in name.lower()
                                      else "unknown"))
    monitors = parse_monitors(_records(src, "WmiMonitorID.json", family, errors, optional=True) or [])
    return Peripherals(devices=devices[:128], monitors=monitors)


def boot_time(src: Source, errors: Errors) -> datetime | None:
    """Boot time from the psutil snapshot (used when Win32_OperatingSystem lacks it)."""
    text = errors.optional_text(src, HOST, "os")
    try:
        return from_epoch(parse_host(text).boot_time) if text else None
    except ValueError:
        return None



# ---------------------------------------------------------------- detections: Defender's threat history

DEFENDER = "Microsoft Defender Antivirus"

# MSFT_MpThreatDetection.ThreatStatusID, as MpClient.h's MPTHREAT_STATUS numbers it: 1 detected, 2 cleaned,
# 3 quarantined, 4 removed, 5 allowed, 6 blocked, then the failures 102 clean, 103 quarantine, 104 remove, 105 allow
# failed, 106 abandoned, 107 block failed. (The WMI class page numbers the failures one lower; every code from 100
# up is a failure in both.) A blocked threat never ran: dealt with, like a quarantined one.
_THREAT_STATUS: dict[int, DetectionStatus] = {
    1: "active", 2: "remediated", 3: "remediated", 4: "remediated", 5: "allowed", 6: "remediated",
}
# MSFT_MpThreatDetection.CleaningActionID (MPTHREAT_ACTION): what Defender did or was told to do.
_CLEANING_ACTION = {1: "clean", 2: "quarantine", 3: "remove", 6: "allow", 8: "user defined", 9: "none", 10: "block"}
# MSFT_MpThreat.SeverityID (MPTHREAT_SEVERITY): 3 is not used.
_SEVERITY: dict[int, Severity] = {1: "low", 2: "moderate", 4: "high", 5: "severe"}
# MSFT_MpThreat.CategoryID in plain words, numbered as MpClient.h's MPTHREAT_CATEGORY and Graph's
# windowsMalwareCategory (30 exploit, 42 virus: EICAR reads 42). The WMI class page omits "exploit" and numbers
# everything after it one lower; a code in neither falls back to the type in the threat's name.
_CATEGORY = {
    1: "Adware", 2: "Spyware", 3: "Password stealer", 4: "Trojan downloader", 5: "Worm", 6: "Backdoor",
    7: "Remote access trojan", 8: "Trojan", 9: "Email flooder", 10: "Keylogger", 11: "Dialer",
    12: "Monitoring software", 13: "Browser modifier", 14: "Cookie", 15: "Browser plugin", 16: "AOL exploit",
    17: "Nuker", 18: "Security disabler", 19: "Joke program", 20: "Hostile ActiveX control", 21: "Software bundler",
    22: "Stealth notifier", 23: "Settings modifier", 24: "Toolbar", 25: "Remote control software", 26: "Trojan FTP",
    27: "Potentially unwanted software", 28: "ICQ exploit", 29: "Trojan telnet", 30: "Exploit",
    31: "File sharing program", 32: "Malware creation tool", 33: "Remote control software", 34: "Tool",
    36: "Trojan denial of service", 37: "Trojan dropper", 38: "Trojan mass mailer", 39: "Trojan monitoring software",
    40: "Trojan proxy server", 42: "Virus", 43: "Known", 44: "Unknown", 45: "SPP", 46: "Behavior",
    47: "Vulnerability", 48: "Policy", 49: "Enterprise unwanted software", 50: "Ransom", 51: "HIPS rule",
}
_NAME_TYPE = re.compile(r"^([A-Za-z]+):")  # 'Trojan:Win32/Wacatac.B!ml' -> 'Trojan'
_FIRST_VALID = datetime(2000, 1, 1, tzinfo=timezone.utc)  # PowerShell prints DateTime.MinValue for "never"


def _resource(value: Any) -> str | None:
    """A Defender resource ('file:_C:\\x.exe', 'webfile:_C:\\a.zip|https://...|pid:..') as a path, and its origin."""
    text = clean(value)
    if text is None:
        return None
    kind, sep, rest = text.partition(":_")
    if not sep:
        return text
    if kind.lower() in ("file", "containerfile"):
        return rest
    if kind.lower() == "webfile":
        path, _, origin = rest.partition("|")
        url = origin.split("|", 1)[0]
        return clean(f"{path} ({url})" if url else path)
    return text  # registry keys, processes, behaviours: the kind says what it is


def _when(value: Any) -> datetime | None:
    when = parse_when(value)
    return when if when is not None and when >= _FIRST_VALID else None


def _defender_detection(item: Record, threat: Record) -> Detection | None:
    """One row of Get-MpThreatDetection with its threat from Get-MpThreat; None when it names nothing."""
    threat_id = to_int(item.get("ThreatID"))
    name = clean(threat.get("ThreatName")) or (f"ThreatID {threat_id}" if threat_id is not None else None)
    if name is None:
        return None
    detected = _when(item.get("InitialDetectionTime"))
    resources = [r for r in (_resource(v) for v in _as_list(item.get("Resources"))[:16]) if r]
    status_id = to_int(item.get("ThreatStatusID"))
    status: DetectionStatus = _THREAT_STATUS.get(status_id or 0, "unknown")
    if status_id is not None and status_id >= 100:
        status = "failed"
    elif status == "unknown" and to_bool(threat.get("IsActive")):
        status = "active"
    action = _CLEANING_ACTION.get(to_int(item.get("CleaningActionID")) or 0)
    category_id = to_int(threat.get("CategoryID"))
    match = _NAME_TYPE.match(name)
    first_file = resources[0] if resources else None
    return Detection(
        id=short(item.get("DetectionID")) or detection_id("defender", detected, name, first_file),
        threat=name,
        category=_CATEGORY.get(category_id or 0) or (short(match.group(1)) if match else None),
        severity=_SEVERITY.get(to_int(threat.get("SeverityID")) or 0, "unknown"),
        detected_at=detected,
        resources=resources,
        action=action,
        action_success=to_bool(item.get("ActionSuccess")) if action is not None else None,
        remediated_at=_when(item.get("RemediationTime")),
        status=status,
        source="defender",
        product=DEFENDER,
    )


def parse_defender_detections(items: list[Record], threats: list[Record]) -> list[Detection]:
    """Detections from Get-MpThreatDetection joined with Get-MpThreat by ThreatID, newest first."""
    by_threat = {to_int(t.get("ThreatID")): t for t in threats if to_int(t.get("ThreatID")) is not None}
    found = [d for d in (_defender_detection(i, by_threat.get(to_int(i.get("ThreatID")), {})) for i in items) if d]
    return sorted(found, key=lambda d: d.detected_at or _FIRST_VALID, reverse=True)


def detections(src: Source, errors: Errors, antivirus: list[AntivirusProduct]) -> Detections:
    """Defender's history; other products keep none the agent can read, so their detections are unknown.

    Readable only when the product protecting the PC is Defender (on, or no other product is on): a passive
    Defender's empty history says nothing of what the active product found, so it never counts as a zero.
    """
    family = "detections"
    builtin = next((p for p in antivirus if is_builtin_antivirus(p.name, p.source)), None)
    others = [p for p in antivirus if p is not builtin]
    others_on = any(p.enabled is not False for p in others)
    defender_protects = (builtin is not None and builtin.enabled is True) or (builtin is None and not others)
    # With another product in charge, Defender's history commonly fails (0x800106ba): expected, not news.
    quiet = Errors() if others_on and not defender_protects else errors
    items = _records(src, "MpThreatDetection.json", family, quiet)
    threats = _records(src, "MpThreat.json", family, quiet, optional=True) if items else []
    unreadable = list(dict.fromkeys(p.name for p in others))
    if items is None:
        if builtin is not None:
            unreadable.insert(0, builtin.name)
        return Detections(readable=False, unreadable=unreadable[:64])
    found, truncated = newest_first(parse_defender_detections(items, threats or []))
    return Detections(
        readable=defender_protects or not others_on,
        sources=["defender"],
        unreadable=unreadable[:64],
        items=found,
        truncated=truncated,
    )
