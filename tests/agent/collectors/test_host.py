"""The psutil snapshot round-trips through its parser."""

from __future__ import annotations

import json

import pytest

from agent.collectors._host import parse_host, snapshot


def test_live_snapshot_parses() -> None:
    facts = parse_host(snapshot().decode())
    assert facts.cpu_threads and facts.ram_bytes and facts.boot_time and facts.hostname
    assert any(i.loopback for i in facts.interfaces)


def test_parse_normalises_macs_and_skips_nameless() -> None:
    facts = parse_host(json.dumps({"interfaces": [
        {"name": "Ethernet", "mac": "3C-2A-F4-11-22-33", "ipv4": ["10.0.0.2"]},
        {"name": "lo", "mac": "00:00:00:00:00:00"}, {"mac": "aa"}], "boot_time": "x"}))
    assert [(i.name, i.mac) for i in facts.interfaces] == [("Ethernet", "3c:2a:f4:11:22:33"), ("lo", None)]
    assert facts.boot_time is None and facts.hostname is None


def test_garbage_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_host("[1]")
    with pytest.raises(ValueError):
        parse_host("{oops")
