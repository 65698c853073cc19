"""Printers, scanners and monitors: assets with an age of their own."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from shared.schema import Connection, Monitor, PeripheralKind, Peripherals

if TYPE_CHECKING:
    from agent.collectors import PlatformModule
    from agent.collectors._source import Errors, Source

FAMILY = "peripherals"

_EDID_HEADER = b"\x00\xff\xff\xff\xff\xff\xff\x00"
_VIRTUAL_PRINTER = re.compile(r"pdf|xps|onenote|\bfax\b|send to|foxit|cutepdf|snagit", re.IGNORECASE)
# Names come with spaces (Windows) or underscores (CUPS): "HP LaserJet M1136 MFP", "Canon_MF3010", "Brother_DCP".
_MULTIFUNCTION = re.compile(r"(?<![a-z0-9])(mfp?|mfc|dcp)(?![a-z])|multifunction|all-in-one", re.IGNORECASE)
_SCANNER = re.compile(r"scan", re.IGNORECASE)


def parse_edid(data: bytes, source: str) -> Monitor | None:
    """A ``Monitor`` from a 128-byte (or longer) EDID block; None when the block is empty or not EDID."""
    if len(data) < 128 or not data.startswith(_EDID_HEADER):
        return None
    word = (data[8] << 8) | data[9]
    letters = [(word >> shift) & 0x1F for shift in (10, 5, 0)]
    manufacturer = "".join(chr(ord("A") + n - 1) for n in letters) if all(1 <= n <= 26 for n in letters) else None
    product_code = data[10] | (data[11] << 8)
    serial_number = int.from_bytes(data[12:16], "little")
    name: str | None = None
    text_serial: str | None = None
    # Four 18-byte descriptors; display descriptors start with 00 00 00 and a tag byte.
    for offset in (54, 72, 90, 108):
        block = data[offset : offset + 18]
        if block[:3] != b"\x00\x00\x00":
            continue
        value = block[5:18].split(b"\x0a", 1)[0].decode("cp437", errors="replace").strip()
        if block[3] == 0xFC and value:
            name = value
        elif block[3] == 0xFF and value:
            text_serial = value
    # Week 0xFF marks a model year rather than a year of manufacture: still the best age evidence there is.
    year = data[17] + 1990 if data[17] not in (0, 0xFF) else None
    return Monitor(
        manufacturer=manufacturer,
        model=name or (f"{manufacturer or ''}{product_code:04X}" if product_code else None),
        serial=text_serial or (str(serial_number) if serial_number else None),
        year_of_manufacture=year if year is not None and 1990 <= year <= 2100 else None,
        source=source,
    )


def printer_kind(name: str) -> PeripheralKind:
    """printer, multifunction or scanner from the name a driver gives the device."""
    if _MULTIFUNCTION.search(name):
        return "multifunction"
    if _SCANNER.search(name):
        return "scanner"
    return "printer"


def printer_connection(name: str, port: str | None) -> Connection:
    """How a printer is attached, from its port (Windows port name or CUPS device URI)."""
    if _VIRTUAL_PRINTER.search(name):
        return "virtual"
    p = (port or "").strip().lower()
    if not p:
        return "unknown"
    if p.startswith(("usb", "hp:/usb", "hpfax:/usb")) or "/usb/" in p:
        return "usb"
    if p.startswith(("ip_", "wsd", "\\\\", "socket:", "ipp:", "ipps:", "lpd:", "http:", "https:", "dnssd:", "smb:")):
        return "network"
    if re.match(r"^\d{1,3}(\.\d{1,3}){3}", p) or p.startswith("hp:/net"):
        return "network"
    if p.startswith(("lpt", "com", "parallel:", "serial:")):
        return "local"
    if p.startswith(("portprompt", "nul", "file:", "cups-pdf:", "shrfax", "onenote", "xps")):
        return "virtual"
    return "unknown"


def collect(platform: PlatformModule, src: Source, errors: Errors) -> Peripherals:
    """Peripherals of ``src``; failures land in ``errors``."""
    return platform.peripherals(src, errors)
