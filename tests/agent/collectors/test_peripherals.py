"""EDID parsing and printer classification."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.collectors.peripherals import parse_edid, printer_connection, printer_kind

EDID = Path(__file__).resolve().parents[2] / "data/replay/linux-office-desktop/linux/drm"


def test_edid_from_a_real_shape() -> None:
    monitor = parse_edid((EDID / "card0-HDMI-A-1.edid").read_bytes(), "drm-edid")
    assert monitor is not None
    assert (monitor.manufacturer, monitor.model, monitor.serial, monitor.year_of_manufacture) == (
        "DEL", "DELL P2419H", "CFV9N93", 2019)


def test_edid_without_descriptors_falls_back_to_codes() -> None:
    data = bytearray((EDID / "card0-HDMI-A-1.edid").read_bytes())
    data[54:126] = bytes(72)
    monitor = parse_edid(bytes(data), "drm-edid")
    assert monitor is not None
    assert monitor.model == "DELA0C4" and monitor.serial == str(0x4C4A5931)


@pytest.mark.parametrize("data", [b"", b"\x00" * 128, b"\x00\xff\xff\xff\xff\xff\xff\x00" + b"\x00" * 10])
def test_not_edid(data: bytes) -> None:
    assert parse_edid(data, "drm-edid") is None


@pytest.mark.parametrize(("name", "port", "kind", "connection"), [
    ("HP LaserJet Pro MFP M127fn", "USB001", "multifunction", "usb"),
    ("Canon LBP2900", "USB002", "printer", "usb"),
    ("Epson Scan 2", None, "scanner", "unknown"),
    ("Brother DCP-T720DW", "IP_192.168.1.9", "multifunction", "network"),
    ("Kyocera ECOSYS P2040dn", "192.168.1.40", "printer", "network"),
    ("Foxit Reader PDF Printer", "FOXIT_PDF:", "printer", "virtual"),
    ("Fax", "SHRFAX:", "printer", "virtual"),
    ("Old dot matrix", "LPT1:", "printer", "local"),
    ("HP_M402", "hp:/usb/HP_LaserJet?serial=1", "printer", "usb"),
    ("Mystery", "WEIRD:", "printer", "unknown"),
])
def test_printers(name: str, port: str | None, kind: str, connection: str) -> None:
    assert printer_kind(name) == kind
    assert printer_connection(name, port) == connection
