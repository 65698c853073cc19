"""macOS parsers on system_profiler, socketfilterfw and networksetup output."""

from __future__ import annotations

import json

import pytest

from agent.collectors import _macos as mac


def test_cpu_counts_apple_silicon_and_intel() -> None:
    assert mac.cpu_counts({"number_processors": "proc 8:4:4"}) == (8, 8)
    assert mac.cpu_counts({"number_processors": 4, "platform_cpu_htt": "hyperthreading_enabled"}) == (4, 8)
    assert mac.cpu_counts({"number_processors": 2}) == (2, 2)
    assert mac.cpu_counts({}) == (None, None)


def test_memory_and_os_version() -> None:
    assert mac.memory_bytes("24 GB") == 24 * 1024**3
    assert mac.memory_bytes("512 MB") == 512 * 1024**2
    assert mac.memory_bytes("lots") is None
    assert mac.parse_os_version("macOS 14.4.1 (23E224)") == ("macOS", "14.4.1", "23E224")
    assert mac.parse_os_version("Mac OS X 10.13.6 (17G14042)") == ("Mac OS X", "10.13.6", "17G14042")


@pytest.mark.parametrize(("name", "model", "chassis"), [
    ("MacBook Air", "Mac14,2", "laptop"), ("MacBook Pro", "MacBookPro11,3", "laptop"), ("iMac", "iMac18,3", "desktop"),
    ("Mac mini", "Macmini9,1", "desktop"), ("Xserve", "Xserve3,1", "server"), ("VMware Virtual Platform", "VMware7,1",
                                                                                "virtual"), (None, None, None),
])
def test_chassis_from_model_name(name: str | None, model: str | None, chassis: str | None) -> None:
    assert mac.mac_chassis(name, model) == chassis


@pytest.mark.parametrize(("text", "enabled"), [
    ("Firewall is enabled. (State = 1)", True), ("Firewall is disabled. (State = 0)", False),
    ("Firewall is blocking all non-essential incoming connections. (State = 2)", True), ("Firewall is on.", True),
])
def test_firewall_state(text: str, enabled: bool) -> None:
    assert mac.parse_firewall_state(text).enabled is enabled


def test_firewall_state_garbage_raises() -> None:
    with pytest.raises(ValueError):
        mac.parse_firewall_state("socketfilterfw: command not found")


def test_displays_and_vendor_ids() -> None:
    assert mac.pnp_id("10ac") == "DEL" and mac.pnp_id("610") == "APP" and mac.pnp_id("zz") is None
    monitors = mac.parse_displays([{"spdisplays_ndrvs": [
        {"_name": "DELL P2419H", "_spdisplays_display-vendor-id": "10ac", "_spdisplays_display-year": "2019",
         "_spdisplays_display-serial-number": "434c4a59"},
        {"_name": "Color LCD", "spdisplays_connection_type": "spdisplays_internal"}]}])
    assert [(m.manufacturer, m.model, m.year_of_manufacture) for m in monitors] == [
        ("DEL", "DELL P2419H", 2019), (None, "Color LCD", None)]


def test_hardware_ports() -> None:
    ports = mac.parse_hardware_ports("Hardware Port: Wi-Fi\nDevice: en0\nEthernet Address: x\n\n"
                                     "Hardware Port: Thunderbolt Bridge\nDevice: bridge0\n")
    assert ports == {"en0": "Wi-Fi", "bridge0": "Thunderbolt Bridge"}
    assert [mac.port_kind(p) for p in ("Wi-Fi", "Thunderbolt Bridge", "USB 10/100/1000 LAN", "Modem")] == [
        "wifi", "virtual", "ethernet", "other"]


def test_profile_items() -> None:
    text = json.dumps({"SPHardwareDataType": {"machine_name": "iMac"}})
    assert mac.profile_items(text, "SPHardwareDataType") == [{"machine_name": "iMac"}]
    assert mac.profile_items(text, "SPSoftwareDataType") == []
    with pytest.raises(ValueError):
        mac.profile_items("[1, 2]", "SPHardwareDataType")


def test_source_names_cover_every_data_type() -> None:
    names = mac.source_names(mac.LiveSource())
    assert {f"{t}.json" for t in mac.DATA_TYPES} <= set(names) and "host.json" in names
