"""Linux: sysfs, /etc and /proc files, a few commands where they exist, psutil for the rest.

Roots are parameters so tests point the live probes at a fake tree; parsers take text and return facts.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from agent.collectors._common import (
    HOST,
    Errors,
    LiveBase,
    ProbeError,
    Source,
    chassis_from,
    clean,
    clean_serial,
    decode,
    detection_id,
    from_epoch,
    host_facts,
    interfaces_from,
    load_json,
    newest_first,
    overall,
    parse_date,
    parse_edid,
    printer_connection,
    printer_kind,
    records,
    short,
    snapshot,
    to_bool,
    to_int,
    usable_uuid,
)
from shared.schema import (
    AntivirusProduct,
    Detection,
    Detections,
    DetectionStatus,
    Disk,
    Firewall,
    FirewallProfile,
    Hardware,
    Monitor,
    Network,
    OperatingSystem,
    Peripheral,
    Peripherals,
)

NAME = "linux"

DMI_FIELDS = ("sys_vendor", "product_name", "product_version", "product_serial", "product_uuid", "chassis_type",
              "chassis_vendor", "bios_vendor", "bios_version", "bios_date", "board_vendor", "board_name")
_COMMAND_TIMEOUT_S = 5.0
# Files the installers leave behind and nothing touches later: Debian/Ubuntu's installer logs, the
# kickstart file Anaconda (RHEL, Fedora, Rocky) writes for root.
INSTALL_STAMPS = ("var/log/installer/syslog", "var/log/installer", "root/anaconda-ks.cfg")
_CLAMAV_DB_DIRS = ("var/lib/clamav", "var/clamav", "usr/local/share/clamav")
# Where ClamAV's programs say what they found: clamd's LogFile (set in these files), Debian's log folder, and the
# logs of scheduled clamscan runs (``--log``) people keep beside them. freshclam's log never holds a detection.
_CLAMD_CONFS = ("etc/clamav/clamd.conf", "etc/clamd.d/scan.conf", "etc/clamd.conf")
_CLAMAV_LOG_DIR = "var/log/clamav"
_CLAMAV_LOG_TAIL = 2 << 20  # the newest 2 MiB of each log: thousands of lines, bounded memory
_CLAMAV_MAX_LOGS = 8
# The clamd and clamonacc units of Debian (clamav-daemon, clamav-clamonacc) and of Fedora/RHEL (clamd@scan).
_CLAMAV_UNITS = ("clamav-daemon.service", "clamav-clamonacc.service", "clamd@scan.service", "clamonacc.service")
# Where a move (quarantine) directory is configured: clamonacc's unit (Debian ships '--move=/root/quarantine'),
# overrides of it, and the cron jobs that run clamscan --move.
_CLAMAV_MOVE_CONFS = ("lib/systemd/system/clamav-clamonacc.service", "usr/lib/systemd/system/clamav-clamonacc.service",
                      "usr/lib/systemd/system/clamonacc.service", "etc/systemd/system/clamav-clamonacc.service",
                      "etc/crontab")
_CLAMAV_MOVE_GLOBS = ("etc/systemd/system/clamav-clamonacc.service.d/*.conf", "etc/cron.d/*", "etc/cron.daily/*")
_QUARANTINE_MAX = 1000  # files listed per move directory
_SKIP_BLOCK = re.compile(r"^(loop|ram|zram|dm-|md|sr|fd|nbd|mmcblk\d+boot|mmcblk\d+rpmb)")


class LiveSource(LiveBase):
    """This machine. ``root`` replaces ``/`` for the files the probes read themselves, so tests can hand them a
    fake tree (psutil's snapshot always reads the real /proc)."""

    platform = NAME
    live = True

    def __init__(self, timeout: float = _COMMAND_TIMEOUT_S, root: Path = Path("/")) -> None:
        super().__init__()
        self.timeout = min(timeout, _COMMAND_TIMEOUT_S)
        self.root = root
        self._clamav_logs: tuple[dict[str, Path], dict[str, str]] | None = None

    def _file(self, relative: str, limit: int = 1 << 20) -> bytes:
        path = self.root / relative
        try:
            with path.open("rb") as handle:
                return handle.read(limit)
        except FileNotFoundError:
            if relative.startswith("sys/class/dmi/id/") and not path.parent.exists():
                raise ProbeError("not_found", f"/{path.parent.relative_to(self.root)} does not exist: no DMI/SMBIOS "
                                 "tables exposed here (container or board without SMBIOS)") from None
            raise ProbeError("not_found", f"/{relative} does not exist") from None
        except PermissionError:
            raise ProbeError("permission_denied", f"/{relative} is readable by root only") from None
        except OSError as exc:
            raise ProbeError("probe_failed", f"/{relative}: {exc}") from None

    def _command(self, args: list[str], ok_codes: tuple[int, ...] = (0,)) -> bytes:
        exe = shutil.which(args[0])
        if exe is None:
            raise ProbeError("not_found", f"{args[0]} is not installed")
        try:
            done = subprocess.run([exe, *args[1:]], capture_output=True, timeout=self.timeout, check=False,
                                  stdin=subprocess.DEVNULL, env={**os.environ, "LC_ALL": "C"})
        except subprocess.TimeoutExpired:
            raise ProbeError("timeout", f"{' '.join(args)} killed after {self.timeout:.0f} s") from None
        except OSError as exc:
            raise ProbeError("probe_failed", f"{' '.join(args)}: {exc}") from None
        if done.returncode not in ok_codes:
            message = decode(done.stderr or done.stdout).strip().splitlines()
            reason = message[0] if message else f"exit {done.returncode}"
            kind = "permission_denied" if re.search(r"permission|not permitted|root", reason, re.I) else "probe_failed"
            raise ProbeError(kind, f"{' '.join(args)}: {reason}")
        return done.stdout

    def _read(self, name: str) -> bytes:
        """The raw output ``name``."""
        if name == HOST:
            return snapshot(self.root / "sys/class/net")
        if name.startswith("dmi/"):
            return self._file(f"sys/class/dmi/id/{name[4:]}")
        if name.startswith("drm/"):
            return self._file(f"sys/class/drm/{name[4:].removesuffix('.edid')}/edid")
        readers: dict[str, Callable[[], bytes]] = {
            "os-release": lambda: self._first_file(("etc/os-release", "usr/lib/os-release")),
            "machine-id": lambda: self._first_file(("etc/machine-id", "var/lib/dbus/machine-id")),
            "cpuinfo": lambda: self._file("proc/cpuinfo").split(b"\n\n", 1)[0],
            "proc-net-route": lambda: self._file("proc/net/route"),
            "disks.json": self._disks,
            "package-db.json": self._package_db,
            "install-stamps.json": self._install_stamps,
            "ufw.conf": lambda: self._file("etc/ufw/ufw.conf"),
            "firewalld-state": lambda: self._command(["firewall-cmd", "--state"], ok_codes=(0, 252)),
            "nft-ruleset": lambda: self._command(["nft", "list", "ruleset"]),
            "lpstat-v": lambda: self._command(["lpstat", "-v"]),
            "clamav/db-header": self._clamav_header,
            "clamav/clamscan-version": lambda: self._command(["clamscan", "--version"]),
            "clamav/state.json": self._clamav_state,
            "clamav/logs.json": self._clamav_logs_index,
            "clamav/quarantine.json": self._clamav_quarantine,
            "clamav/journal": lambda: self._command(
                ["journalctl", "--no-pager", "-q", "-o", "short-iso", "--since=-30d", "-n", "20000",
                 *(f"--unit={u}" for u in _CLAMAV_UNITS)]),
        }
        reader = readers.get(name)
        if reader is None and name.startswith("clamav/log/"):
            return self._clamav_log(name)
        if reader is None:
            raise ProbeError("not_found", f"no Linux probe named {name}")
        return reader()

    def names(self, prefix: str) -> list[str]:
        """Monitors: one ``drm/<connector>.edid`` per connector with a non-empty EDID; ClamAV's logs."""
        if prefix == "clamav/log/":
            return [f"clamav/log/{n}" for n in self._clamav_log_paths()[0]]
        if prefix != "drm/":
            return []
        drm = self.root / "sys/class/drm"
        try:
            return sorted(f"drm/{p.parent.name}.edid" for p in drm.glob("*/edid") if p.stat().st_size > 0)
        except OSError:
            return []

    def _first_file(self, candidates: tuple[str, ...]) -> bytes:
        for relative in candidates[:-1]:
            try:
                return self._file(relative)
            except ProbeError:
                continue
        return self._file(candidates[-1])

    def _disks(self) -> bytes:
        block = self.root / "sys/block"
        try:
            devices = sorted(block.iterdir())
        except OSError as exc:
            raise ProbeError("not_found", f"/sys/block: {exc.strerror}") from None
        disks: list[dict[str, Any]] = []
        for dev in devices:
            if _SKIP_BLOCK.match(dev.name):
                continue

            def value(relative: str, dev: Path = dev) -> str | None:
                try:
                    return (dev / relative).read_text().strip()
                except OSError:
                    return None

            disks.append({"name": dev.name, "model": value("device/model"), "sectors": value("size"),
                          "rotational": value("queue/rotational"), "removable": value("removable")})
        return json.dumps(disks, indent=1).encode()

    def _package_db(self) -> bytes:
        found: dict[str, float] = {}
        for relative in ("var/lib/dpkg/status", "var/lib/rpm/rpmdb.sqlite", "var/lib/rpm/Packages",
                         "var/lib/pacman/local"):
            try:
                found[f"/{relative}"] = (self.root / relative).stat().st_mtime
            except OSError:
                continue
        if not found:
            raise ProbeError("not_found", "no dpkg, rpm or pacman database found")
        return json.dumps(found, indent=1).encode()

    def _install_stamps(self) -> bytes:
        found: dict[str, float] = {}
        for relative in INSTALL_STAMPS:
            try:
                found[f"/{relative}"] = (self.root / relative).stat().st_mtime
            except OSError:
                continue
        if not found:
            raise ProbeError("not_found", "no installer log (/var/log/installer, /root/anaconda-ks.cfg) found")
        return json.dumps(found, indent=1).encode()

    def _clamav_header(self) -> bytes:
        candidates = [self.root / d / f"daily.{ext}" for d in _CLAMAV_DB_DIRS for ext in ("cld", "cvd")]
        present = [p for p in candidates if p.is_file()]
        if not present:
            raise ProbeError("not_found", "no ClamAV daily database found")
        newest = max(present, key=lambda p: p.stat().st_mtime)
        with newest.open("rb") as handle:
            return handle.read(512)

    def _clamav_log_paths(self) -> tuple[dict[str, Path], dict[str, str]]:
        """ClamAV's logs by capture name (newest rotation first), and those that exist but cannot be read."""
        if self._clamav_logs is not None:
            return self._clamav_logs
        bases: list[Path] = []
        for conf in _CLAMD_CONFS:
            try:
                text = (self.root / conf).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            bases.extend(self.root / p.lstrip("/") for p in parse_clamd_log_files(text))
        folder = self.root / _CLAMAV_LOG_DIR
        with contextlib.suppress(OSError):
            bases.extend(sorted(p for p in folder.iterdir() if p.name.endswith(".log") and "freshclam" not in p.name))
        found: dict[str, Path] = {}
        denied: dict[str, str] = {}
        for base in dict.fromkeys(bases):
            for path in (base, base.with_name(base.name + ".1"), base.with_name(base.name + ".2.gz")):
                if len(found) >= _CLAMAV_MAX_LOGS or not path.is_file():
                    continue
                if not os.access(path, os.R_OK):
                    denied[f"/{path.relative_to(self.root)}"] = "permission_denied"
                    continue
                name = path.name.removesuffix(".gz")
                while name in found:
                    name = f"_{name}"
                found[name] = path
        self._clamav_logs = (found, denied)
        return self._clamav_logs

    def _clamav_logs_index(self) -> bytes:
        """Which logs were read (capture name -> path), which were refused, and the zone of their clock times."""
        found, denied = self._clamav_log_paths()
        # ClamAV writes local times without a zone: the zone's offset now (a DST change inside the logs' window
        # would shift the older lines by an hour; Vietnam keeps none).
        offset = time.localtime().tm_gmtoff // 60
        return json.dumps({"utc_offset_minutes": offset, "files": {n: f"/{p.relative_to(self.root)}"
                                                                   for n, p in found.items()},
                           "unreadable": denied}, indent=1).encode()

    def _clamav_log(self, name: str) -> bytes:
        path = self._clamav_log_paths()[0].get(name.removeprefix("clamav/log/"))
        if path is None:
            raise ProbeError("not_found", f"no ClamAV log called {name}")
        try:
            if path.name.endswith(".gz"):
                import gzip  # only for a rotated log: the collection itself never pays for it

                with gzip.open(path, "rb") as handle:
                    data = handle.read(4 * _CLAMAV_LOG_TAIL)
                return data[-_CLAMAV_LOG_TAIL:]
            with path.open("rb") as handle:
                handle.seek(max(0, handle.seek(0, os.SEEK_END) - _CLAMAV_LOG_TAIL))
                return handle.read(_CLAMAV_LOG_TAIL)
        except PermissionError:
            raise ProbeError("permission_denied", f"/{path.relative_to(self.root)} is not readable") from None
        except (OSError, EOFError) as exc:
            raise ProbeError("probe_failed", f"/{path.relative_to(self.root)}: {exc}") from None

    def _clamav_quarantine(self) -> bytes:
        """The files in each configured move directory, with the time each was moved there (its ctime)."""
        confs = [self.root / c for c in _CLAMAV_MOVE_CONFS]
        for pattern in _CLAMAV_MOVE_GLOBS:
            confs.extend(sorted(self.root.glob(pattern))[:50])
        dirs: list[str] = []
        for conf in confs:
            try:
                with conf.open("rb") as handle:
                    dirs.extend(parse_move_dirs(decode(handle.read(1 << 16))))
            except OSError:
                continue
        if not dirs:
            raise ProbeError("not_found", "no ClamAV move (quarantine) directory is configured")
        listing: dict[str, list[dict[str, Any]]] = {}
        refused: dict[str, str] = {}
        for folder in dict.fromkeys(dirs):
            try:
                entries = sorted(os.scandir(self.root / folder.lstrip("/")), key=lambda e: e.name)[:_QUARANTINE_MAX]
                listing[folder] = [{"name": e.name, "moved": e.stat(follow_symlinks=False).st_ctime}
                                   for e in entries if e.is_file(follow_symlinks=False)]
            except PermissionError:
                refused[folder] = "permission_denied"
            except OSError:
                listing[folder] = []  # not created yet: nothing was ever moved there
        return json.dumps({"dirs": listing, "unreadable": refused}, indent=1).encode()

    def _clamav_state(self) -> bytes:
        installed = any(shutil.which(b) for b in ("clamscan", "clamd", "clamdscan")) or any(
            (self.root / d).is_dir() for d in _CLAMAV_DB_DIRS)
        if not installed:
            raise ProbeError("not_found", "ClamAV is not installed")
        running = {"clamd": False, "clamonacc": False}
        proc = self.root / "proc"
        for entry in proc.iterdir() if proc.is_dir() else []:
            if entry.name.isdigit():
                try:
                    comm = (entry / "comm").read_text().strip()
                except OSError:
                    continue
                if comm in running:
                    running[comm] = True
        return json.dumps({"installed": True, "clamd_running": running["clamd"],
                           "clamonacc_running": running["clamonacc"]}).encode()


def live_source(timeout: float) -> Source:
    """This machine as a source."""
    return LiveSource(timeout)


def source_names(src: Source) -> list[str]:
    """Every output a capture saves."""
    fixed = ["os-release", "machine-id", "cpuinfo", "proc-net-route", "disks.json", "package-db.json",
             "install-stamps.json", "ufw.conf", "firewalld-state", "nft-ruleset", "lpstat-v", "clamav/db-header",
             "clamav/clamscan-version", "clamav/state.json", "clamav/logs.json", "clamav/journal",
             "clamav/quarantine.json", HOST]
    return [*(f"dmi/{f}" for f in DMI_FIELDS), *fixed, *src.names("drm/"), *src.names("clamav/log/")]


# ---------------------------------------------------------------- pure parsers


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value pairs of os-release, quotes removed."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            out[key] = value.strip().strip("'\"")
    return out


def parse_cpuinfo(text: str) -> str | None:
    """The CPU brand from /proc/cpuinfo ('model name' on x86, 'Model' or 'Hardware' on ARM boards)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), value.strip())
    return clean(fields.get("model name") or fields.get("model") or fields.get("hardware"))


def parse_route_gateway(text: str) -> str | None:
    """The default IPv4 gateway from /proc/net/route (little-endian hex addresses)."""
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 4 or cols[1] != "00000000":
            continue
        try:
            flags, raw = int(cols[3], 16), bytes.fromhex(cols[2])
        except ValueError:
            continue
        if flags & 0x2 and len(raw) == 4:  # RTF_GATEWAY
            return ".".join(str(b) for b in reversed(raw))
    return None


def parse_disks(text: str) -> list[Disk]:
    """Disks from the sysfs snapshot: sizes are in 512-byte sectors whatever the device's block size."""
    disks = []
    for item in records(load_json(text))[:64]:
        sectors = to_int(item.get("sectors"))
        rotational = to_bool(item.get("rotational"))
        disks.append(Disk(model=clean(item.get("model")),
                          size_bytes=sectors * 512 if sectors else None,
                          kind="unknown" if rotational is None else ("hdd" if rotational else "ssd")))
    return disks


def parse_clamav_header(data: str) -> tuple[str | None, datetime | None]:
    """(database version, build time) from a ``ClamAV-VDB:`` header; the last field is epoch seconds."""
    line = data.split("\n", 1)[0].strip().rstrip("\x00 ")
    if not line.startswith("ClamAV-VDB:"):
        raise ValueError("not a ClamAV database header")
    fields = line.split(":")
    stamp = to_int(fields[-1].strip()) if len(fields) >= 9 else None
    version = fields[2].strip() if len(fields) > 2 else None
    return version or None, from_epoch(stamp)


def parse_clamscan_version(text: str) -> tuple[str | None, str | None, datetime | None]:
    """(engine version, database version, database time) from ``clamscan --version``.

    The time is the machine's local time without a zone; it is read as UTC, at most a day wrong.
    """
    match = re.match(r"^ClamAV ([\w.\-]+)(?:/(\d+)/(.+))?$", text.strip())
    if not match:
        raise ValueError(f"unexpected clamscan output {text.strip()[:80]!r}")
    when = None
    if match.group(3):
        try:
            when = datetime.strptime(" ".join(match.group(3).split()), "%a %b %d %H:%M:%S %Y")
        except ValueError:
            when = None
    return match.group(1), match.group(2), when.replace(tzinfo=timezone.utc) if when else None


def parse_lpstat(text: str) -> list[Peripheral]:
    """Printers from ``lpstat -v``: 'device for NAME: URI'."""
    out = []
    for line in text.splitlines():
        match = re.match(r"^device for (.+?):\s*(\S+)", line.strip())
        name = clean(match.group(1)) if match else None
        if match and name:
            uri = match.group(2)
            out.append(Peripheral(name=name, kind=printer_kind(name), connection=printer_connection(name, uri)))
    return out


def parse_nft(text: str) -> bool:
    """Whether an nftables ruleset filters incoming traffic at all."""
    return bool(re.search(r"hook\s+input", text))


# ---------------------------------------------------------------- facts


def _dmi(src: Source, errors: Errors, field: str, *, optional: bool = False) -> str | None:
    text = (errors.optional_text if optional else errors.text)(src, f"dmi/{field}", "hardware")
    return text.strip() if text is not None else None


def hostname(src: Source, errors: Errors) -> str | None:
    """Hostname from the psutil snapshot."""
    host = host_facts(src, errors, "network")
    return host.hostname if host else None


def identity(src: Source, errors: Errors) -> list[tuple[str, str]]:
    """SMBIOS UUID (root only), then /etc/machine-id."""
    found: list[tuple[str, str]] = []
    text = errors.text(src, "dmi/product_uuid", "identity")
    uuid = usable_uuid(text) if text else None
    if uuid:
        found.append(("smbios_uuid", uuid))
    text = errors.text(src, "machine-id", "identity")
    if text and re.fullmatch(r"[0-9a-fA-F]{32}", text.strip()):
        found.append(("machine_id", text.strip().lower()))
    return found


def hardware(src: Source, errors: Errors) -> Hardware:
    """DMI, /proc/cpuinfo, the psutil snapshot and the disks under /sys/block."""
    family = "hardware"
    vendor = clean(_dmi(src, errors, "sys_vendor"))
    model = clean(_dmi(src, errors, "product_name"))
    chassis_code = to_int(_dmi(src, errors, "chassis_type"))
    host = host_facts(src, errors, family)
    cpu_text = errors.text(src, "cpuinfo", family)
    disks = errors.read(src, "disks.json", family, parse_disks) or []
    return Hardware(
        vendor=vendor,
        model=model,
        serial=clean_serial(_dmi(src, errors, "product_serial")),
        chassis=chassis_from([chassis_code] if chassis_code is not None else [], vendor, model),
        cpu_model=parse_cpuinfo(cpu_text) if cpu_text else None,
        cpu_cores=host.cpu_cores if host else None,
        cpu_threads=host.cpu_threads if host else None,
        ram_bytes=host.ram_bytes if host else None,
        disks=disks,
        bios_vendor=clean(_dmi(src, errors, "bios_vendor")),
        bios_version=clean(_dmi(src, errors, "bios_version")),
        bios_date=parse_date(_dmi(src, errors, "bios_date")),
    )


def operating_system(src: Source, errors: Errors) -> OperatingSystem:
    """/etc/os-release, the kernel, boot time and the package database's last change."""
    family = "os"
    text = errors.text(src, "os-release", family)
    release = parse_os_release(text) if text else {}
    host = host_facts(src, errors, family)
    last_change = None
    packages = errors.optional_text(src, "package-db.json", family)
    if packages:
        try:
            stamps = [v for v in (load_json(packages) or {}).values() if isinstance(v, (int, float))]
            last_change = from_epoch(max(stamps)) if stamps else None
        except (ValueError, AttributeError) as exc:
            errors.parsed(family, "package-db.json", exc)
    installed = None
    stamps_text = errors.optional_text(src, "install-stamps.json", family)
    if stamps_text:
        try:
            stamps = load_json(stamps_text)
            values = [v for v in (stamps or {}).values() if isinstance(v, (int, float))]
            installed = from_epoch(min(values)) if values else None
        except (ValueError, AttributeError) as exc:
            errors.parsed(family, "install-stamps.json", exc)
    name = release.get("PRETTY_NAME") or release.get("NAME")
    return OperatingSystem(
        name=clean(name),
        version=short(release.get("VERSION_ID")),
        build=short(host.kernel) if host else None,
        architecture=short(host.machine) if host else None,
        is_server=None,
        install_date=installed.date() if installed else None,
        last_boot=from_epoch(host.boot_time) if host else None,
        last_update_date=last_change.date() if last_change else None,
    )


def antivirus(src: Source, errors: Errors) -> list[AntivirusProduct]:
    """ClamAV, when installed: daemon state and signature date. No product found is an empty list.

    ClamAV has no verdict of its own on its signatures: the date goes to the server, whose policy
    (``KIEMKE_SIGNATURE_MAX_AGE_DAYS``) decides whether it is recent enough, so ``up_to_date`` stays unknown.
    """
    family = "antivirus"
    state_text = errors.optional_text(src, "clamav/state.json", family)
    header = errors.optional_text(src, "clamav/db-header", family)
    version_text = errors.optional_text(src, "clamav/clamscan-version", family)
    if state_text is None and header is None and version_text is None:
        return []
    state: dict[str, Any] = {}
    try:
        loaded = load_json(state_text) if state_text else None
        state = loaded if isinstance(loaded, dict) else {}
    except ValueError as exc:
        errors.parsed(family, "clamav/state.json", exc)
    engine = db_version = None
    updated: datetime | None = None
    try:
        if header:
            db_version, updated = parse_clamav_header(header)
        if version_text:
            engine, scan_db, scan_time = parse_clamscan_version(version_text)
            db_version, updated = db_version or scan_db, updated or scan_time
    except ValueError as exc:
        errors.parsed(family, "clamav", exc)
    running = to_bool(state.get("clamd_running"))
    detail = ["clamd running" if running else "clamd not running" if running is False else None,
              "on-access scanning (clamonacc) on" if state.get("clamonacc_running") else None,
              f"database {db_version}" if db_version else None]
    return [AntivirusProduct(name="ClamAV", enabled=running, up_to_date=None, signatures_updated_at=updated,
                             source="clamav", version=short(engine), detail=clean(", ".join(d for d in detail if d)))]


def firewall(src: Source, errors: Errors) -> Firewall:
    """ufw's configuration, firewalld's state and the nftables ruleset, whichever can be read."""
    family = "firewall"
    profiles: list[FirewallProfile] = []
    ufw = errors.optional_text(src, "ufw.conf", family)
    if ufw is not None:
        value = parse_os_release(ufw).get("ENABLED", "").lower()
        profiles.append(FirewallProfile(name="ufw", enabled={"yes": True, "no": False}.get(value), active=True))
    state = errors.optional_text(src, "firewalld-state", family)
    if state is not None:
        text = state.strip().lower()
        enabled = True if text == "running" else False if "not running" in text else None
        profiles.append(FirewallProfile(name="firewalld", enabled=enabled, active=True))
    hidden = False  # the kernel's own ruleset exists but could not be read (not root)
    try:
        ruleset: str | None = decode(src.read_bytes("nft-ruleset"))
    except ProbeError as exc:
        ruleset = None
        if exc.error != "not_found":
            errors.add(family, exc.error, exc.detail)
            hidden = True
    if ruleset is not None:
        profiles.append(FirewallProfile(name="nftables", enabled=parse_nft(ruleset), active=True))
    if not profiles:
        if not hidden:
            errors.add(family, "not_found", "no readable ufw, firewalld or nftables state")
        return Firewall()
    on = [p for p in profiles if p.enabled]
    # Several front-ends manage one kernel filter: any of them that filters means the host is filtered.
    if on:
        return Firewall(enabled=True, source=on[0].name, profiles=profiles)
    # "ufw is off" proves nothing while rules set by other means may sit in a ruleset we could not read.
    return Firewall(enabled=None if hidden else overall(profiles), source=profiles[0].name, profiles=profiles)


def network(src: Source, errors: Errors) -> Network:
    """Interfaces from the psutil snapshot, the gateway from /proc/net/route."""
    family = "network"
    host = host_facts(src, errors, family)
    route = errors.text(src, "proc-net-route", family)
    return Network(interfaces=interfaces_from(host.interfaces) if host else [],
                   default_gateway=parse_route_gateway(route) if route else None)


def peripherals(src: Source, errors: Errors) -> Peripherals:
    """CUPS printers and the monitors' EDID."""
    family = "peripherals"
    lpstat = errors.optional_text(src, "lpstat-v", family)
    monitors: list[Monitor] = []
    for name in src.names("drm/")[:16]:
        try:
            monitor = parse_edid(src.read_bytes(name), "drm-edid")
        except ProbeError as exc:
            errors.add(family, exc.error, exc.detail)
            continue
        if monitor is not None:
            monitors.append(monitor)
    return Peripherals(devices=parse_lpstat(lpstat)[:128] if lpstat else [], monitors=monitors)


# ---------------------------------------------------------------- detections: ClamAV's logs

# clamd (LogTime yes): 'Sat May 18 08:45:02 2024 -> /home/a/x.zip: Win.Tool.Keygen-123 FOUND'; clamscan --log:
# '/home/a/eicar.com: Win.Test.EICAR_HDB-1 FOUND', then with --move '/home/a/eicar.com: moved to '/q/eicar.com''
# or with --remove '/home/a/eicar.com: Removed.', and a summary with 'Start Date: 2024:05:18 08:44:58'. Failures
# read 'ERROR: Can't move file /home/a/x' / 'ERROR: Can't remove file '/home/a/x'.'. The journal (short-iso)
# prefixes '2024-05-18T08:45:02+0700 host clamd[812]: '. clamd with ExtendedDetectionInfo adds '(md5:size)'.
_CLAMD_TIME = re.compile(r"^(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}) -> (.*)$")
_JOURNAL_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)) \S+ (clamd|clamonacc)"
                           r"(?:\[\d+\])?: (.*)$")
_ONACCESS_PREFIX = re.compile(r"^(?:ScanOnAccess|OnAccess(?:Prevention)?|ClamInotif|ClamFanotif): ")
_MOVED = re.compile(r"^(.+): (moved|copied) to '(.+)'$")
_REMOVED = re.compile(r"^(.+): Removed\.$")
_FAILED = re.compile(r"^(?:ERROR: )?Can't (move|remove) file '?(.+?)'?\.?$")
_SCAN_DATE = re.compile(r"^(Start|End) Date:\s*(\d{4}):(\d\d):(\d\d) (\d\d):(\d\d):(\d\d)$")
_EXTENDED_INFO = re.compile(r"\([0-9a-f]{32}:\d+\)$")
CLAMAV = "ClamAV"


def parse_clamd_log_files(conf: str) -> list[str]:
    """The ``LogFile`` paths a clamd.conf sets (comment lines and the 'Example' guard ignored)."""
    out = []
    for line in conf.splitlines():
        key, _, value = line.strip().partition(" ")
        if key == "LogFile" and value.strip().startswith("/"):
            out.append(value.strip())
    return out


def parse_move_dirs(text: str) -> list[str]:
    """The directories a unit's or cron job's ClamAV command lines move infected files to (``--move=DIR``)."""
    return [m.group(1).strip("'\"") for m in re.finditer(r"--move(?:=|\s+)(\S+)", text)
            if m.group(1).strip("'\"").startswith("/")]


_COLLISION = re.compile(r"^(.*)\.\d{3}$")  # ClamAV renames 'x.exe' to 'x.exe.001' when the name is taken


def with_quarantine(items: list[Detection], listing: dict[str, Any]) -> list[Detection]:
    """Active detections whose file now sits in a move directory, moved after it was found, as quarantined.

    A file of the same name moved before the detection is another file: only a move at or after the detection
    (its ctime, the time of the rename) counts, and each quarantined file vouches for the latest detection only.
    """
    moved: dict[str, list[float]] = {}
    for entries in (listing.get("dirs") or {}).values() if isinstance(listing.get("dirs"), dict) else []:
        for entry in entries if isinstance(entries, list) else []:
            name = entry.get("name") if isinstance(entry, dict) else None
            stamp = entry.get("moved") if isinstance(entry, dict) else None
            if isinstance(name, str) and isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
                collision = _COLLISION.match(name)
                moved.setdefault(collision.group(1) if collision else name, []).append(float(stamp))
    out = list(items)
    used: set[tuple[str, float]] = set()
    instants = [d.detected_at.timestamp() if d.detected_at else None for d in items]
    for index in sorted(range(len(items)), key=lambda i: instants[i] or 0.0, reverse=True):
        item, found = items[index], instants[index]
        base = item.resources[0].rsplit("/", 1)[-1] if item.resources else ""
        stamps = sorted(t for t in moved.get(base, []) if found is not None and t >= found - 60
                        and (base, t) not in used)
        if item.status == "active" and stamps:
            used.add((base, stamps[0]))
            out[index] = item.model_copy(update={"status": "remediated", "action": "quarantine",
                                                 "action_success": True, "remediated_at": from_epoch(stamps[0])})
    return out


def _local(text: str, fmt: str, zone: timezone) -> datetime | None:
    try:
        return datetime.strptime(" ".join(text.split()), fmt).replace(tzinfo=zone)
    except ValueError:
        return None


def _journal_time(text: str) -> datetime | None:
    stamp = text.replace(",", ".")
    if re.search(r"[+-]\d{4}$", stamp):
        stamp = f"{stamp[:-2]}:{stamp[-2:]}"
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


class _Found:
    """One FOUND line and what later lines of the same log say happened to the file."""

    def __init__(self, when: datetime | None, path: str, threat: str) -> None:
        self.when, self.path, self.threat = when, path, threat
        self.status: DetectionStatus = "active"
        self.action: str | None = None
        self.success: bool | None = None
        self.done_at: datetime | None = None

    def detection(self) -> Detection:
        return Detection(id=detection_id("clamav", self.when, self.threat, self.path), threat=self.threat,
                         category=None, severity="unknown", detected_at=self.when, resources=[self.path],
                         action=self.action, action_success=self.success, remediated_at=self.done_at,
                         status=self.status,
                         source="clamav", product=CLAMAV)


def parse_clamav_log(text: str, utc_offset_minutes: int = 0) -> list[Detection]:
    """Detections from a clamd or clamscan log, or clamd's journal; times without a zone are in ``utc_offset``.

    A file stays ``active`` unless a later line says it was moved (quarantine) or removed, or that this failed.
    clamscan prints its time only in the summary after a scan: detections of a scan still running (no summary
    yet) wait for the next collection, so their id (time, threat, file) never changes once reported.
    """
    zone = timezone(timedelta(minutes=utc_offset_minutes))
    found: list[_Found] = []
    latest: dict[str, _Found] = {}
    waiting: list[_Found] = []  # clamscan lines of the scan whose summary has not come yet
    for raw in text.splitlines():
        line = raw.strip()
        when: datetime | None = None
        journal = _JOURNAL_LINE.match(line)
        if journal:
            when, line = _journal_time(journal.group(1)), journal.group(3).strip()
        clamd = _CLAMD_TIME.match(line)
        if clamd:
            when, line = when or _local(clamd.group(1), "%a %b %d %H:%M:%S %Y", zone), clamd.group(2).strip()
        line = _ONACCESS_PREFIX.sub("", line)
        scan = _SCAN_DATE.match(line)
        if scan:  # the summary dates the scan's lines: found at its start, dealt with by its end
            stamp = _local(" ".join(scan.groups()[1:]), "%Y %m %d %H %M %S", zone)
            for item in waiting:
                if scan.group(1) == "Start":
                    item.when = item.when or stamp
                elif item.action is not None and item.done_at is None and item.success:
                    item.done_at = stamp
            if scan.group(1) == "End":
                waiting = []
            continue
        if line.endswith(" FOUND"):
            path, sep, threat = line[: -len(" FOUND")].rpartition(": ")
            threat = _EXTENDED_INFO.sub("", threat).strip()
            if not sep or not path or not threat or " " in threat:
                continue
            item = _Found(when, clean(path) or path, threat[:512])
            found.append(item)
            latest[path] = item
            if when is None:
                waiting.append(item)
            continue
        moved, removed, failed = _MOVED.match(line), _REMOVED.match(line), _FAILED.match(line)
        if moved and moved.group(1) in latest:
            item = latest[moved.group(1)]
            if moved.group(2) == "moved":
                item.status, item.action, item.success, item.done_at = "remediated", "quarantine", True, when
            else:  # a copy leaves the file where it was
                item.action, item.success = "copy", True
        elif removed and removed.group(1) in latest:
            item = latest[removed.group(1)]
            item.status, item.action, item.success, item.done_at = "remediated", "remove", True, when
        elif failed and failed.group(2) in latest:
            item = latest[failed.group(2)]
            item.status, item.success = "failed", False
            item.action = "quarantine" if failed.group(1) == "move" else "remove"
    held = {id(item) for item in waiting if item.when is None} if "SCAN SUMMARY" in text else set()
    return [item.detection() for item in found if id(item) not in held]


def _json_object(text: str) -> dict[str, Any]:
    data = load_json(text)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _journal_has_clamav(text: str) -> bool:
    """Whether clamd or clamonacc write to the journal at all (else its silence says nothing)."""
    return any(_JOURNAL_LINE.match(line.strip()) for line in text.splitlines())


def detections(src: Source, errors: Errors, antivirus: list[AntivirusProduct]) -> Detections:
    """ClamAV's FOUND lines from its logs and journal.

    No ClamAV (no product at all): nothing could have found anything, so the history is not readable (unknown,
    never zero). ClamAV whose logs cannot be read (root and adm only on Debian) is listed in ``unreadable``.
    """
    family = "detections"
    if not any(p.source == "clamav" for p in antivirus):
        return Detections(readable=False)
    index = errors.read(src, "clamav/logs.json", family, _json_object) or {}
    offset = to_int(index.get("utc_offset_minutes")) or 0
    denied = index.get("unreadable")
    for path, reason in (denied.items() if isinstance(denied, dict) else []):
        errors.add(family, str(reason), f"{path}: ClamAV's log is readable by root and the adm group only")
    files = index.get("files")
    read = False
    items: list[Detection] = []
    for name in (files if isinstance(files, dict) else {}):
        text = errors.text(src, f"clamav/log/{name}", family)
        if text is not None:
            read = True
            items.extend(parse_clamav_log(text, offset))
    journal = errors.optional_text(src, "clamav/journal", family)
    if journal is not None and _journal_has_clamav(journal):
        read = True
        items.extend(parse_clamav_log(journal, offset))
    if not read:
        if index and not files and not denied:
            errors.add(family, "not_found", "ClamAV writes no log here: set LogFile in clamd.conf")
        return Detections(readable=False, unreadable=[CLAMAV])
    quarantine = errors.read(src, "clamav/quarantine.json", family, _json_object, optional=True)
    if quarantine:
        refused = quarantine.get("unreadable")
        for folder in (refused if isinstance(refused, dict) else {}):
            errors.add(family, "permission_denied", f"{folder}: ClamAV's move directory cannot be listed")
        items = with_quarantine(items, quarantine)
    found, truncated = newest_first(items)
    return Detections(readable=True, sources=["clamav"], items=found, truncated=truncated)
