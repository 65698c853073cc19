"""Interfaces, default gateway, and the bounded connectivity check that runs beside the other collectors."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from shared.schema import InterfaceKind, InternetCheck, Network, NetworkInterface

if TYPE_CHECKING:
    from agent.collectors import PlatformModule
    from agent.collectors._host import HostInterface
    from agent.collectors._source import Errors, Source

FAMILY = "network"
#: The public host checked when nothing else is configured; override with ``KIEMKE_PUBLIC_TARGET``.
DEFAULT_PUBLIC_TARGET = "1.1.1.1:443"
#: The whole connectivity check never takes longer than this.
CHECK_BUDGET_S = 2.0

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


def split_target(target: str) -> tuple[str, int]:
    """(host, port) from ``host:port``, ``[v6]:port``, a bare host (port 443) or an http(s) URL."""
    text = target.strip()
    if "://" in text:
        url = urlsplit(text)
        if not url.hostname:
            raise ValueError(f"no host in {target!r}")
        return url.hostname, url.port or (80 if url.scheme == "http" else 443)
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest.lstrip(":") or 443)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    if not text:
        raise ValueError("empty target")
    return text, 443


class ConnectivityCheck:
    """TCP connects to every target at once, started now and read later; never longer than the budget.

    Each target gets its own daemon thread so that a slow DNS lookup cannot hold the report back: the
    result is read with whatever is left of the budget, and unfinished attempts are simply abandoned.
    """

    def __init__(self, targets: Sequence[str], budget_s: float = CHECK_BUDGET_S) -> None:
        self.targets = [t for t in dict.fromkeys(t.strip() for t in targets) if t]
        self.budget_s = budget_s
        self._started = time.monotonic()
        self._checked_at = datetime.now(timezone.utc)
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._results: dict[str, float | None] = {}
        self._winner: tuple[str, float] | None = None
        for target in self.targets:
            threading.Thread(target=self._try, args=(target,), name=f"connect {target}", daemon=True).start()
        if not self.targets:
            self._done.set()

    def _try(self, target: str) -> None:
        latency: float | None = None
        try:
            host, port = split_target(target)
            remaining = max(0.05, self.budget_s - (time.monotonic() - self._started))
            begin = time.monotonic()
            # An ASCII host goes to getaddrinfo as bytes: a str would load the IDNA codec (and unicodedata),
            # a megabyte of memory for nothing.
            with socket.create_connection((host.encode("ascii") if host.isascii() else host, port),  # type: ignore[arg-type]
                                          timeout=remaining):
                latency = (time.monotonic() - begin) * 1000.0
        except (OSError, ValueError):
            latency = None
        with self._lock:
            self._results[target] = latency
            if latency is not None and self._winner is None:
                self._winner = (target, latency)
            if self._winner is not None or len(self._results) == len(self.targets):
                self._done.set()

    def result(self) -> InternetCheck:
        """Wait for the first answer (or all failures) within what is left of the budget."""
        if not self.targets:
            return InternetCheck()
        self._done.wait(max(0.0, self.budget_s - (time.monotonic() - self._started)))
        with self._lock:
            if self._winner is not None:
                target, latency = self._winner
                return InternetCheck(
                    reachable=True, latency_ms=round(latency, 1), target=target, checked_at=self._checked_at
                )
            return InternetCheck(reachable=False, target=self.targets[-1], checked_at=self._checked_at)


def collect(platform: PlatformModule, src: Source, errors: Errors) -> Network:
    """Interfaces and gateway of ``src`` (the connectivity check is added by ``agent.collect``)."""
    return platform.network(src, errors)
