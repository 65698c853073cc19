"""The facts psutil gives on every OS, snapshotted to JSON so that capture and replay see the same bytes."""

from __future__ import annotations

import json
import os
import platform
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.collectors._values import clean, load_json, records, short, to_bool, to_int

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


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _mac(text: str) -> str | None:
    """Lower-case colon-separated MAC; Windows prints dashes. All-zero MACs (loopback, tunnels) are None."""
    mac = text.strip().lower().replace("-", ":")
    return None if not mac or set(mac) <= {"0", ":"} else mac
