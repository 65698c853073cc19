"""Windows parsers on captured ConvertTo-Json output, and the single PowerShell run."""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.collectors import _windows as win
from agent.collectors._common import ProbeError


@pytest.mark.parametrize(("state", "enabled", "current", "licence"), [
    (397568, True, True, None),     # Defender on, current
    (393472, False, True, None),    # Defender off, another product active
    (266240, True, True, None),     # third party on, current
    (266256, True, False, None),    # on, out of date
    (262160, False, False, None),   # off, out of date
    (270336, False, True, None),    # 0x042000 snoozed
    (274432, False, True, True),    # 0x043000 expired
    (0x04F000, None, True, None),   # unknown state nibble
    (0x041020, True, None, None),   # unknown signature nibble
])
def test_decode_product_state(state: int, enabled: bool | None, current: bool | None, licence: bool | None) -> None:
    got = win.decode_product_state(state)
    assert got[:3] == (enabled, current, licence)
    assert f"0x{state:06X}" in got[3]


def test_security_center_keeps_the_newest_entry_of_a_duplicated_product() -> None:
    kes = "Kaspersky Endpoint Security"
    items: list[dict[str, Any]] = [
        {"displayName": kes, "productState": 266256, "timestamp": "Tue, 02 Jan 2018 01:12:40 GMT"},
        {"displayName": kes, "productState": 266240, "timestamp": "Mon, 04 Mar 2024 09:15:02 GMT"},
        {"displayName": "Kaspersky Endpoint Security ", "productState": 262160},
        {"displayName": None, "productState": 1},
    ]
    products = win.parse_security_center(items)
    assert len(products) == 1
    assert products[0].enabled is True and products[0].up_to_date is True and products[0].product_state == 266240


def test_security_center_drops_entries_whose_product_is_gone() -> None:
    products = win.parse_security_center([
        {"displayName": "Avast Free Antivirus", "productState": 262160, "productExeExists": False},
        {"displayName": "Bkav Pro", "productState": 266240, "productExeExists": True},
        {"displayName": "Windows Defender", "productState": 393472, "productExeExists": None},
    ])
    assert [p.name for p in products] == ["Bkav Pro", "Windows Defender"]


def test_security_center_without_timestamps_prefers_the_enabled_entry() -> None:
    products = win.parse_security_center([
        {"displayName": "Bkav Pro", "productState": 262144},
        {"displayName": "Bkav Pro", "productState": 266240},
    ])
    assert [p.enabled for p in products] == [True]


def test_defender_never_updated_is_out_of_date() -> None:
    product = win.parse_defender({"AntivirusEnabled": True, "RealTimeProtectionEnabled": True,
                                  "AntivirusSignatureAge": 65535, "AntivirusSignatureLastUpdated": "/Date(0)/"})
    assert product is not None
    assert product.up_to_date is False and product.signatures_updated_at is None and product.enabled is True
    assert "never" in (product.detail or "")


@pytest.mark.parametrize(("flags", "licence"), [(0x80000, False), (0x2000, True), (0x4000, True), (None, None)])
def test_defender_licence_flags(flags: int | None, licence: bool | None) -> None:
    product = win.parse_defender({"AntivirusEnabled": True, "ProductStatus": flags})
    assert product is not None and product.licence_problem is licence


def test_defender_passive_mode_is_not_protecting() -> None:
    product = win.parse_defender({"AMRunningMode": "Passive Mode", "AntivirusEnabled": True,
                                  "RealTimeProtectionEnabled": True, "DefenderSignaturesOutOfDate": False})
    assert product is not None and product.enabled is False and product.up_to_date is True
    assert win.parse_defender({}) is None


def test_catalogue_finds_products_by_service_and_program() -> None:
    found = win.parse_catalogue(
        services=[{"Name": "AVP.KES.12.3", "State": "Running"}, {"Name": "klnagent", "State": "Running"},
                  {"Name": "ekrn", "State": "Stopped"}, {"Name": "Spooler", "State": "Running"}],
        programs=[{"DisplayName": "Kaspersky Endpoint Security for Windows", "DisplayVersion": "12.3"},
                  {"DisplayName": "Bkav Pro", "DisplayVersion": "22.0"},
                  {"DisplayName": "Microsoft Office"}],
    )
    assert found["Kaspersky"].source == "service" and found["Kaspersky"].enabled is True
    assert found["Kaspersky"].version == "12.3" and found["Kaspersky"].name.startswith("Kaspersky Endpoint")
    assert found["ESET"].enabled is False
    assert found["Bkav"].source == "installed_program" and found["Bkav"].enabled is None
    assert set(found) == {"Kaspersky", "ESET", "Bkav"}


def test_firewall_uses_active_profiles_when_known() -> None:
    profiles = [{"Name": "Domain", "Enabled": 1}, {"Name": "Private", "Enabled": True},
                {"Name": "Public", "Enabled": 0}]
    assert win.parse_firewall(profiles, None).enabled is False  # activity unknown: every profile counts
    domain_only = win.parse_firewall(profiles, [{"NetworkCategory": 2}])
    assert domain_only.enabled is True
    assert [p.active for p in domain_only.profiles] == [True, False, False]
    public = win.parse_firewall(profiles, [{"NetworkCategory": "Public"}])
    assert public.enabled is False
    assert win.parse_firewall([{"Name": "Domain", "Enabled": 2}], None).enabled is None  # NotConfigured


def test_disks_monitors_and_printers() -> None:
    disks = win.parse_disks([{"FriendlyName": "Samsung SSD 860", "MediaType": 4, "Size": 500107862016},
                             {"Model": "WDC WD10EZEX", "MediaType": "HDD", "Size": "1000204886016"},
                             {"FriendlyName": "Virtual Disk", "MediaType": 0, "Size": 0}])
    assert [(d.kind, d.size_bytes) for d in disks] == [("ssd", 500107862016), ("hdd", 1000204886016),
                                                       ("unknown", None)]
    monitors = win.parse_monitors([{"ManufacturerName": [68, 69, 76, 0, 0], "UserFriendlyName": [80, 50, 52, 49, 57,
                                    72, 0], "SerialNumberID": [67, 70, 86, 57, 0], "YearOfManufacture": 2019}])
    assert monitors[0].manufacturer == "DEL" and monitors[0].model == "P2419H" and monitors[0].serial == "CFV9"
    assert monitors[0].year_of_manufacture == 2019
    printers = win.parse_printers([{"Name": "HP LaserJet M1136 MFP", "PortName": "USB001"},
                                   {"Name": "Kyocera", "PortName": "WSD-1234", "Network": False},
                                   {"Name": "Shared", "PortName": "\\\\ketoan\\hp", "Network": True},
                                   {"Name": "Microsoft Print to PDF", "PortName": "PORTPROMPT:"}])
    assert [(p.kind, p.connection) for p in printers] == [("multifunction", "usb"), ("printer", "network"),
                                                          ("printer", "network"), ("printer", "virtual")]


def test_script_output_keeps_finished_probes_and_classifies_failures() -> None:
    lines = [
        json.dumps({"name": "Win32_BIOS.json", "ok": '{"Manufacturer": "Dell Inc."}'}),
        json.dumps({"name": "AntiVirusProduct.json", "error": "CimException", "message": "Invalid namespace "}),
        json.dumps({"name": "MpComputerStatus.json", "error": "UnauthorizedAccessException", "message": "denied"}),
        json.dumps({"name": "HotFix.json", "error": "RuntimeException", "message": "boom"}),
        "garbage line",
        json.dumps({"name": "Win32_Printer.json", "ok": None}),
    ]
    out = win.parse_script_output("\n".join(lines))
    assert out["Win32_BIOS.json"] == '{"Manufacturer": "Dell Inc."}'
    assert out["Win32_Printer.json"] == ""
    assert [out[n].error for n in ("AntiVirusProduct.json", "MpComputerStatus.json", "HotFix.json")  # type: ignore[union-attr]
            ] == ["not_found", "permission_denied", "probe_failed"]


def test_script_emits_every_probe_once() -> None:
    text = win.script()
    for name in win.PROBES:
        assert text.count(f"Emit '{name}'") == 1
    assert len(text.encode("utf-16-le")) * 4 // 3 < 32000  # fits -EncodedCommand's command-line limit


@pytest.mark.skipif(sys.platform == "win32", reason="fakes powershell.exe with a POSIX shell script")
def test_live_source_kills_a_hung_powershell_and_keeps_what_it_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "powershell.exe"
    line = json.dumps({"name": "Win32_BIOS.json", "ok": '{"SMBIOSBIOSVersion": "A12"}'})
    fake.write_text(f"#!/bin/sh\necho '{line}'\nexec sleep 30\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    src = win.LiveSource(timeout=0.5)
    assert json.loads(src.read_bytes("Win32_BIOS.json")) == {"SMBIOSBIOSVersion": "A12"}
    with pytest.raises(ProbeError) as caught:
        src.read_bytes("AntiVirusProduct.json")
    assert caught.value.error == "timeout"


def test_live_source_without_powershell_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ProbeError) as caught:
        win.LiveSource(timeout=1).read_bytes("Win32_BIOS.json")
    assert caught.value.error == "not_found"
    assert win.source_names(win.LiveSource(timeout=1))[-1] == "host.json"


def test_stale_entry_check_only_tests_file_paths() -> None:
    match = re.search(r"-match '([^']+)'", win.PROBES["AntiVirusProduct.json"])
    assert match is not None
    pattern = re.compile(match.group(1))  # PowerShell and Python agree on this small regex
    assert pattern.match("C:\\Program Files\\ESET\\ESET Security\\ecmds.exe")
    assert pattern.match("%ProgramFiles%\\Windows Defender\\MsMpeng.exe")
    assert not pattern.match("windowsdefender://")


# The catalogue recognises the products Vietnamese offices run.


@pytest.mark.parametrize(("display", "product"), [
    ("Bkav Pro", "Bkav"), ("BkavHome", "Bkav"), ("CMC Antivirus Pro", "CMC Antivirus"),
    ("Kaspersky Endpoint Security for Windows", "Kaspersky"), ("Dr.Web Security Space", "Dr.Web"),
    ("ESET NOD32 Antivirus", "ESET"), ("Bitdefender Endpoint Security Tools", "Bitdefender"),
    ("Avast Free Antivirus", "Avast"), ("AVG AntiVirus FREE", "AVG"), ("Norton 360", "Symantec/Norton"),
])
def test_catalogue_programs(display: str, product: str) -> None:
    known = win.known_by_program(display)
    assert known is not None and known.name == product


@pytest.mark.parametrize(("service", "product"), [
    ("AVP.KES.12.3", "Kaspersky"), ("AVP21.3", "Kaspersky"), ("kavfs", "Kaspersky"), ("ekrn", "ESET"),
    ("BkavService", "Bkav"), ("DrWebAVService", "Dr.Web"), ("VSSERV", "Bitdefender"), ("EPSecurityService",
                                                                                       "Bitdefender"),
])
def test_catalogue_services(service: str, product: str) -> None:
    known = win.known_by_service(service)
    assert known is not None and known.name == product


@pytest.mark.parametrize("name", ["Microsoft Office", "klnagent", "CMC Telecom Updater", "Spooler", "Avastar"])
def test_catalogue_ignores_unrelated_names(name: str) -> None:
    assert win.known_by_program(name) is None and win.known_by_service(name) is None


def test_catalogue_names_are_unique() -> None:
    names = [k.name for k in win.CATALOGUE]
    assert len(names) == len(set(names))
