"""Replayed captures from every OS give the right antivirus, firmware-date, chassis and firewall facts.

The golden reports in tests/data/report-<os>.json are what replay makes of three folders; regenerate one with
``python -m agent collect --replay tests/data/replay/<folder> --out tests/data/report-<os>.json`` after a
deliberate change, and read the diff.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from agent.collect import collect_report
from shared.schema import AntivirusProduct, InventoryReport

from .helpers import DATA, REPLAY, replay

GOLDEN = {"windows": "windows10-full-capture", "linux": "linux-office-desktop", "darwin": "macos-intel-imac"}


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what changes per run: its id, its time, the connectivity check's time."""
    out: dict[str, Any] = json.loads(json.dumps(report))
    out.pop("report_id")
    out.pop("collected_at")
    out["network"]["internet"].pop("checked_at")
    return out


def av(report: InventoryReport, name_part: str) -> AntivirusProduct:
    """The one product whose name contains ``name_part``."""
    found = [p for p in report.antivirus if name_part.lower() in p.name.lower()]
    assert len(found) == 1, [p.name for p in report.antivirus]
    return found[0]


def errors_of(report: InventoryReport) -> set[tuple[str, str]]:
    return {(e.collector, e.error) for e in report.errors}


@pytest.mark.parametrize(("platform", "folder"), sorted(GOLDEN.items()))
def test_replay_equals_golden(platform: str, folder: str) -> None:
    golden = json.loads((DATA / f"report-{platform}.json").read_text(encoding="utf-8"))
    assert golden["platform"] == platform
    assert comparable(replay(folder).model_dump(mode="json")) == comparable(golden)


def test_windows10_defender() -> None:
    report = replay("windows10-defender")
    defender = av(report, "Defender")
    assert (defender.enabled, defender.up_to_date, defender.source, defender.product_state) == (
        True, True, "security_center", 397568)
    assert defender.signatures_updated_at == datetime(2024, 3, 4, tzinfo=timezone.utc)  # from Get-MpComputerStatus
    assert report.hardware.bios_date == date(2014, 5, 25)
    assert report.hardware.chassis == "desktop" and report.hardware.serial == "7XK2M52"
    assert report.firewall.enabled is True and len(report.firewall.profiles) == 3
    assert report.os.install_date == date(2020, 3, 3) and report.os.is_server is False
    assert report.hostname == "PC-VANTHU-01"


def test_windows_full_capture() -> None:
    report = replay("windows10-full-capture")
    assert report.errors == []  # Defender's status failing while ESET protects is expected, not reported
    assert [p.name for p in report.antivirus] == ["ESET Security", "Windows Defender"]  # ekrn/Uninstall: same ESET
    hw = report.hardware
    assert (hw.chassis, hw.bios_date, hw.ram_bytes) == ("laptop", date(2023, 7, 13), 8 * 1024**3)
    assert [(d.kind, d.size_bytes) for d in hw.disks] == [("ssd", 256060514304)]
    assert report.os.last_update_date == date(2024, 3, 13) and report.os.architecture == "x86_64"
    assert report.machine_id_source == "smbios_uuid"
    assert {i.name: i.kind for i in report.network.interfaces} == {
        "Wi-Fi": "wifi", "Ethernet": "ethernet", "Ethernet 2": "virtual", "Loopback Pseudo-Interface 1": "loopback"}
    assert report.network.default_gateway == "192.168.1.1"  # the route with the lowest metric
    assert [p.active for p in report.firewall.profiles] == [False, False, True] and report.firewall.enabled is True
    assert [(m.manufacturer, m.model, m.serial, m.year_of_manufacture) for m in report.peripherals.monitors] == [
        ("AUO", "B68D", None, 2021), ("SAM", "LS24R350", "H4ZR900456", 2022)]
    assert [(d.kind, d.connection) for d in report.peripherals.devices] == [
        ("printer", "usb"), ("printer", "virtual"), ("multifunction", "network"), ("scanner", "unknown")]


def test_windows11_bitdefender_laptop_with_public_profile_off() -> None:
    report = replay("windows11-bitdefender")
    bitdefender = av(report, "Bitdefender")
    assert (bitdefender.enabled, bitdefender.up_to_date, bitdefender.signatures_updated_at) == (True, True, None)
    defender = av(report, "Windows Defender")
    assert defender.enabled is False
    # PS 7 prints local time with its offset: 2021-12-12 03:10 at +07:00 is the 11th in UTC.
    assert defender.signatures_updated_at == datetime(2021, 12, 11, 20, 10, 11, tzinfo=timezone.utc)
    assert report.hardware.bios_date == date(2023, 5, 30)  # 2023-05-29T19:00-05:00 is the 30th in UTC
    assert report.hardware.chassis == "laptop"
    assert report.hardware.cpu_cores == 10 and report.hardware.cpu_threads == 12  # a one-element list
    assert report.firewall.enabled is False


def test_windows_server_falls_back_to_defender_and_services() -> None:
    report = replay("windows-server-kaspersky")
    defender = av(report, "Defender")
    assert (defender.source, defender.enabled, defender.up_to_date, defender.licence_problem) == (
        "defender", True, True, False)
    kaspersky = av(report, "Kaspersky")
    assert (kaspersky.source, kaspersky.enabled, kaspersky.version) == ("service", True, "12.3.0.493")
    assert ("antivirus", "not_found") in errors_of(report)  # Security Center's absence is said, not hidden
    assert report.os.is_server is True and report.hardware.chassis == "server"
    assert report.hardware.bios_date == date(2019, 3, 15)  # CIM datetime string
    assert report.hardware.cpu_cores == 20 and report.hardware.cpu_threads == 40  # two sockets
    assert report.os.last_update_date == date(2024, 3, 13)
    assert report.os.install_date == date(2020, 1, 10)  # 08:30 at +420 minutes is 01:30 UTC the same day
    assert report.firewall.enabled is True  # only the Domain profile is active
    assert (report.machine_id, report.machine_id_source) == ("36383150-3630-5a43-4a39-323130414243", "smbios_uuid")


def test_bkav_found_only_in_installed_programs_and_utf16_files() -> None:
    report = replay("windows-bkav-desktop")
    bkav = av(report, "Bkav")
    assert (bkav.source, bkav.enabled, bkav.up_to_date, bkav.version) == ("installed_program", None, None, "22.0.1.12")
    assert len(report.antivirus) == 1
    assert report.hardware.bios_date == date(2015, 6, 12)  # read from a UTF-16 LE file with BOM
    assert report.hardware.vendor is None and report.hardware.serial is None  # "To be filled by O.E.M."
    assert report.hardware.chassis == "desktop"
    assert report.firewall.enabled is None and ("firewall", "not_found") in errors_of(report)
    assert (report.machine_id_source, report.machine_id) == ("machine_guid", "a1b2c3d4-0000-4e5f-8a9b-0c1d2e3f4a5b")
    assert report.os.architecture == "x86" and report.os.last_boot is None
    assert [d.kind for d in report.peripherals.devices] == ["printer", "printer", "multifunction"]


def test_stale_duplicates_and_plus_seven_dates() -> None:
    report = replay("windows10-stale-av")
    names = sorted(p.name for p in report.antivirus)
    assert names == ["Avast Free Antivirus", "Kaspersky Endpoint Security for Windows", "Windows Defender"]
    kes = av(report, "Kaspersky")
    assert (kes.enabled, kes.up_to_date, kes.product_state) == (True, True, 266240)
    avast = av(report, "Avast")
    assert (avast.enabled, avast.up_to_date) == (False, False)
    defender = av(report, "Defender")
    assert defender.licence_problem is True and defender.signatures_updated_at is None  # non-genuine, never updated
    assert report.os.install_date == date(2020, 1, 4)  # 2020-01-05T03:30+07:00
    assert report.hardware.bios_date == date(2018, 6, 20) and report.hardware.chassis == "desktop"
    assert report.firewall.enabled is True  # a single profile printed as one object


def test_vm_with_garbage_and_missing_files() -> None:
    report = replay("windows-hyperv-vm")
    assert report.hardware.chassis == "virtual"
    assert ("hardware", "parse_error") in errors_of(report)
    assert ("antivirus", "not_found") in errors_of(report)  # no MpComputerStatus.json
    defender = av(report, "Defender")
    assert (defender.enabled, defender.up_to_date) == (True, False)
    assert report.hardware.serial is None and report.hardware.bios_date == date(2021, 11, 10)
    assert report.firewall.enabled is True


def test_linux_vm_from_dmi() -> None:
    report = replay("linux-qemu-vm")
    assert report.hardware.chassis == "virtual" and report.hardware.bios_date == date(2014, 4, 1)
    assert report.os.name == "Ubuntu 22.04.4 LTS" and report.antivirus == []
    assert report.network.internet.reachable is None  # nothing captured, nothing probed


def test_linux_office_desktop() -> None:
    report = replay("linux-office-desktop")
    clam = av(report, "ClamAV")
    # The signature date goes to the server, whose policy judges it; the agent has no verdict of its own.
    assert (clam.enabled, clam.up_to_date, clam.source, clam.version) == (True, None, "clamav", "0.103.11")
    assert clam.signatures_updated_at == datetime(2024, 3, 7, 12, 35, tzinfo=timezone.utc)
    assert clam.signatures_updated_at == datetime(2024, 3, 7, 12, 35, tzinfo=timezone.utc)
    assert report.hardware.bios_date == date(2017, 11, 13) and report.hardware.chassis == "desktop"
    assert report.firewall.enabled is True and report.firewall.source == "ufw"
    assert ("hardware", "permission_denied") in errors_of(report)
    assert [d.kind for d in report.hardware.disks] == ["ssd", "hdd"]
    assert {m.manufacturer for m in report.peripherals.monitors} == {"DEL", "SAM"}
    assert report.network.default_gateway == "192.168.1.1" and report.network.internet.reachable is True
    assert {i.name: i.kind for i in report.network.interfaces} == {
        "enp0s31f6": "ethernet", "lo": "loopback", "wlp2s0": "wifi", "docker0": "virtual"}


def test_macos_m2_laptop() -> None:
    report = replay("macos-m2")
    hw = report.hardware
    assert (hw.chassis, hw.cpu_cores, hw.cpu_model, hw.ram_bytes) == ("laptop", 8, "Apple M2", 24 * 1024**3)
    assert hw.bios_date is None and report.machine_id_source == "platform_uuid"
    assert report.firewall.enabled is None and ("firewall", "not_found") in errors_of(report)


def test_macos_intel_imac() -> None:
    report = replay("macos-intel-imac")
    assert report.hardware.chassis == "desktop" and report.hardware.cpu_cores == 4
    assert report.firewall.enabled is False and report.firewall.source == "socketfilterfw"
    xprotect = av(report, "XProtect")
    assert (xprotect.source, xprotect.version) == ("xprotect", "2192")
    assert (report.os.name, report.os.version, report.os.build) == ("macOS", "12.7.4", "21H1123")
    assert {i.name: i.kind for i in report.network.interfaces}["en1"] == "wifi"
    assert report.errors == []


def test_replay_never_takes_this_machines_stored_id(tmp_path: Path) -> None:
    report = collect_report(replay=REPLAY / "windows10-defender", data_dir=tmp_path)
    assert report.machine_id_source == "derived" and not list(tmp_path.iterdir())
    assert report.machine_id == replay("windows10-defender").machine_id  # derived from the capture: stable


def test_every_replay_folder_makes_a_valid_report() -> None:
    folders = sorted(p.name for p in REPLAY.iterdir() if p.is_dir())
    assert len(folders) >= 9
    for folder in folders:
        report = replay(folder)
        InventoryReport.model_validate_json(report.model_dump_json())
        assert not [e for e in report.errors if e.error == "internal_error"], folder


def test_an_agent_set_to_replay_reports_the_capture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``KIEMKE_AGENT_REPLAY`` makes enrolment and every collection read a capture folder instead of this PC."""
    from agent.config import AgentSettings
    from agent.service import collect_new_report, machine_identity

    folder = REPLAY / "windows10-defender-active-threat"
    monkeypatch.setenv("KIEMKE_AGENT_REPLAY", str(folder))
    settings = AgentSettings.load(tmp_path)
    report = collect_new_report(settings)
    assert report.platform == "windows" and report.machine_id == collect_report(replay=folder).machine_id
    assert report.detections is not None and [d.status for d in report.detections.items] == ["active"]
    assert machine_identity(settings) == report.machine_id  # enrolment binds the key to the replayed machine
    settings.save()
    assert "replay" not in (tmp_path / "config.json").read_text()  # taken from the environment, never kept
