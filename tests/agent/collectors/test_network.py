"""Interface kinds, target parsing and the bounded connectivity check (loopback only)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from agent.collectors._host import HostInterface
from agent.collectors.network import CHECK_BUDGET_S, ConnectivityCheck, interface_kind, interfaces_from, split_target


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A loopback port that accepts connections."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(("target", "expected"), [
    ("1.1.1.1:443", ("1.1.1.1", 443)), ("server.local", ("server.local", 443)),
    ("https://kiemke.example.vn/api/v1", ("kiemke.example.vn", 443)), ("http://10.0.0.5:8080", ("10.0.0.5", 8080)),
    ("http://10.0.0.5", ("10.0.0.5", 80)), ("[::1]:8443", ("::1", 8443)),
])
def test_split_target(target: str, expected: tuple[str, int]) -> None:
    assert split_target(target) == expected


def test_split_target_rejects_empty() -> None:
    with pytest.raises(ValueError):
        split_target("")
    with pytest.raises(ValueError):
        split_target("https:///path")


@pytest.mark.parametrize(("iface", "kind"), [
    (HostInterface(name="lo", loopback=True), "loopback"),
    (HostInterface(name="wlp2s0", wireless=True, device_path="../../devices/pci0000:00/net/wlp2s0"), "wifi"),
    (HostInterface(name="docker0", device_path="../../devices/virtual/net/docker0"), "virtual"),
    (HostInterface(name="enp0s31f6", device_path="../../devices/pci0000:00/net/enp0s31f6"), "ethernet"),
    (HostInterface(name="Wi-Fi"), "wifi"), (HostInterface(name="Ethernet 2"), "ethernet"),
    (HostInterface(name="vEthernet (Default Switch)"), "virtual"), (HostInterface(name="Loopback Pseudo-Interface 1"),
                                                                   "loopback"),
    (HostInterface(name="Kết nối không dây"), "wifi"), (HostInterface(name="ppp0"), "other"),
])
def test_interface_kind(iface: HostInterface, kind: str) -> None:
    assert interface_kind(iface) == kind


def test_interfaces_from_keeps_addresses() -> None:
    nics = interfaces_from([HostInterface(name="eth0", mac="aa:bb:cc:dd:ee:ff", ipv4=["10.0.0.2"], is_up=True)])
    assert nics[0].ipv4 == ["10.0.0.2"] and nics[0].kind == "ethernet" and nics[0].is_up is True


def test_reachable_loopback_target(listening_port: int, closed_port: int) -> None:
    result = ConnectivityCheck([f"127.0.0.1:{closed_port}", f"127.0.0.1:{listening_port}"]).result()
    assert result.reachable is True
    assert result.target == f"127.0.0.1:{listening_port}"
    assert result.latency_ms is not None and result.checked_at is not None


def test_closed_port_is_unreachable(closed_port: int) -> None:
    result = ConnectivityCheck([f"127.0.0.1:{closed_port}", "not a target:port"]).result()
    assert result.reachable is False and result.latency_ms is None
    assert result.target == "not a target:port"


def test_no_targets_means_unknown() -> None:
    assert ConnectivityCheck(["", " "]).result().reachable is None
    assert CHECK_BUDGET_S <= 2.0


def test_a_hung_target_is_abandoned_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hang(*_: object, **__: object) -> socket.socket:
        release.wait(5)  # like a DNS lookup or SYN that never returns
        raise OSError("gave up")

    monkeypatch.setattr(socket, "create_connection", hang)
    try:
        result = ConnectivityCheck(["server.example:443"], budget_s=0.1).result()
    finally:
        release.set()
    assert result.reachable is False and result.target == "server.example:443"
