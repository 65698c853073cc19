"""Target parsing, the public target's configuration and the bounded connectivity check (loopback only)."""

from __future__ import annotations

import socket
import threading

import pytest

from agent.connectivity import (
    CHECK_BUDGET_S,
    CONFIGURED,
    PUBLIC_TARGET_ENV,
    ConnectivityCheck,
    configured_public_target,
    connectivity_targets,
    split_target,
)


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


def test_public_target_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PUBLIC_TARGET_ENV, raising=False)
    assert configured_public_target() == "1.1.1.1:443"
    monkeypatch.setenv(PUBLIC_TARGET_ENV, "none")
    assert configured_public_target() is None
    monkeypatch.setenv(PUBLIC_TARGET_ENV, "127.0.0.1:9")
    assert connectivity_targets(["https://server.example/", "127.0.0.1:9"], CONFIGURED) == [
        "127.0.0.1:9", "https://server.example/"]
    assert connectivity_targets(None, None) == []
