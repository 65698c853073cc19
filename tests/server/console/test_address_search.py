"""Searching the device list by IP or MAC: the interfaces of each device's latest report as of the date."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from server.clock import local_today, utcnow
from server.db import reading, writing
from server.services.addresses import address_needle
from server.services.api_tokens import create_api_token
from server.services.ingest import Delivery, receive
from server.services.records import unit_by_code
from shared.schema import Network, NetworkInterface
from tests.server.console.test_device_page import _device_id, _engine
from tests.server.factories import make_report

IP, MAC = "203.0.113.77", "aa:bb:cc:00:11:22"


def _pc_with_addresses(client: TestClient) -> int:
    """A PC of PB01 whose report lists an interface with an IPv4 address and a MAC: its device id."""
    now = utcnow() - timedelta(minutes=5)
    report = make_report("addressed-pc", serial="SN-ADDR-1", hostname="PB01-ADDR", collected_at=now)
    interface = NetworkInterface(name="Ethernet", kind="ethernet", mac=MAC, ipv4=[IP], ipv6=["fe80::aabb:ccff"],
                                 is_up=True)
    report = report.model_copy(update={"network": Network(interfaces=[interface], default_gateway="203.0.113.1")})
    with reading(_engine(client)) as session:
        unit = unit_by_code(session, "PB01")
    assert unit is not None and unit.id is not None
    unit_id = unit.id
    receive(_engine(client), report, lambda _conn: Delivery(unit_id=unit_id))
    return _device_id(client, hostname="PB01-ADDR")


def _listed(client: TestClient, q: str) -> set[str]:
    import re

    page = client.get("/devices", params={"q": q, "size": "500"})
    assert page.status_code == 200
    return set(re.findall(r'href="/devices/(\d+)"', page.text))


@pytest.mark.dates
def test_an_ip_or_a_mac_finds_its_pc(admin: TestClient) -> None:
    pc = str(_pc_with_addresses(admin))
    assert _listed(admin, IP) == {pc}
    assert _listed(admin, "203.0.113.7") == {pc}  # part of an address, as people type it
    assert _listed(admin, MAC.upper().replace(":", "-")) == {pc}  # as Windows writes it
    assert _listed(admin, MAC.replace(":", "")) == {pc}
    assert _listed(admin, "198.51.100.")  # the demo fleet's addresses are found too
    assert _listed(admin, "203.0.113.254") == set()  # nobody has it
    # A date before the report: its addresses were not known then.
    yesterday = local_today(admin.app.state.settings.tz) - timedelta(days=1)  # type: ignore[attr-defined]
    page = admin.get("/devices", params={"q": IP, "as_of": yesterday.isoformat()})
    assert f'href="/devices/{pc}"' not in page.text


def test_the_read_api_searches_addresses_too(admin: TestClient) -> None:
    pc = _pc_with_addresses(admin)
    with writing(_engine(admin)) as session:
        secret, _ = create_api_token(session, "admin", "test", days=1, actor="test", now=utcnow())
    found = admin.get("/api/v1/devices", params={"q": MAC.upper()}, headers={"Authorization": f"Bearer {secret}"})
    assert [d["id"] for d in found.json()["data"]] == [pc]


def test_what_counts_as_an_address() -> None:
    assert address_needle("198.51.100.7") == "198.51.100.7"
    assert address_needle("AA-BB-CC-00-11-22") == "aa:bb:cc:00:11:22"
    assert address_needle("aabbcc001122") == "aa:bb:cc:00:11:22"
    assert address_needle("fe80::1") == "fe80::1"
    for words in ("máy in", "dead", "PB01-PC01", "ab", "x" * 100):
        assert address_needle(words) is None, words
