"""What every per-OS collector shares: decoding and the error recorder, value helpers for the shapes Windows
and firmware print, the psutil snapshot, and the OS-neutral rule of each fact family."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from agent.collectors._common import (
    Errors,
    HostInterface,
    LiveBase,
    ProbeError,
    chassis_from,
    clean,
    clean_serial,
    decode,
    first,
    from_epoch,
    interface_kind,
    interfaces_from,
    is_virtual,
    load_json,
    overall,
    parse_date,
    parse_edid,
    parse_host,
    parse_when,
    printer_connection,
    printer_kind,
    records,
    snapshot,
    to_bool,
    to_int,
    usable_uuid,
)
from shared.schema import FirewallProfile
from tests.agent.helpers import REPLAY

EDID = REPLAY / "linux-office-desktop/linux/drm"


# ---------------------------------------------------------------- sources and errors


@pytest.mark.parametrize("data", [
    b'{"a": "\xc4\x91"}',
    b'\xef\xbb\xbf{"a": "\xc4\x91"}',
    "\ufeff{\"a\": \"đ\"}".encode("utf-16-le"),
    "\ufeff{\"a\": \"đ\"}".encode("utf-16-be"),
    '{"a": "đ"}'.encode("utf-16-le"),
])
def test_decode_reads_utf8_and_utf16(data: bytes) -> None:
    assert decode(data) == '{"a": "đ"}'


class _Fixed:
    platform = "linux"
    live = False

    def read_bytes(self, name: str) -> bytes:
        if name == "there":
            return b"hello"
        raise ProbeError("permission_denied", f"{name} is root only")

    def names(self, prefix: str) -> list[str]:
        return []


def test_errors_record_once_and_optional_skips_not_found() -> None:
    errors = Errors()
    assert errors.text(_Fixed(), "there", "hardware") == "hello"
    assert errors.text(_Fixed(), "secret", "hardware") is None
    assert errors.text(_Fixed(), "secret", "hardware") is None
    assert [(e.collector, e.error) for e in errors.items] == [("hardware", "permission_denied")]
    errors.parsed("os", "os-release", ValueError("bad"))
    assert errors.items[-1].error == "parse_error" and "os-release" in (errors.items[-1].detail or "")


def test_read_parses_or_records_why_not() -> None:
    errors = Errors()
    assert errors.read(_Fixed(), "there", "os", str.upper) == "HELLO"
    assert errors.read(_Fixed(), "there", "os", int) is None  # int("hello") raises ValueError
    assert errors.read(_Fixed(), "secret", "os", str.upper) is None
    assert [(e.collector, e.error) for e in errors.items] == [("os", "parse_error"), ("os", "permission_denied")]


class _Counting(LiveBase):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def _read(self, name: str) -> bytes:
        self.calls += 1
        if name == "bad":
            raise ProbeError("timeout", "slow")
        return name.encode()


def test_live_sources_produce_each_output_once() -> None:
    src = _Counting()
    assert src.read_bytes("a") == src.read_bytes("a") == b"a"
    for _ in range(2):
        with pytest.raises(ProbeError):
            src.read_bytes("bad")
    assert src.calls == 2


# ---------------------------------------------------------------- values


@pytest.mark.parametrize(("text", "expected"), [
    ("/Date(1552608000000)/", datetime(2019, 3, 15, tzinfo=timezone.utc)),
    ("\\/Date(1552608000000)\\/", datetime(2019, 3, 15, tzinfo=timezone.utc)),
    ("/Date(1552608000000+0700)/", datetime(2019, 3, 15, tzinfo=timezone.utc)),
    ("20190315000000.000000+000", datetime(2019, 3, 15, tzinfo=timezone.utc)),
    ("20190315070000.000000+420", datetime(2019, 3, 15, tzinfo=timezone.utc)),
    ("20190314190000.000000-300", datetime(2019, 3, 15, tzinfo=timezone.utc)),
    ("2023-05-29T19:00:00-05:00", datetime(2023, 5, 30, tzinfo=timezone.utc)),
    ("2024-03-05T06:45:12.4999999+07:00", datetime(2024, 3, 4, 23, 45, 12, 499999, tzinfo=timezone.utc)),
    ("2024-03-05T06:45:12Z", datetime(2024, 3, 5, 6, 45, 12, tzinfo=timezone.utc)),
    ("11/13/2017", datetime(2017, 11, 13, tzinfo=timezone.utc)),
    ("20220815", datetime(2022, 8, 15, tzinfo=timezone.utc)),
    ({"value": "/Date(1710288000000)/", "DateTime": "Wednesday, March 13, 2024"},
     datetime(2024, 3, 13, tzinfo=timezone.utc)),
])
def test_parse_when_reads_every_date_style(text: object, expected: datetime) -> None:
    assert parse_when(text) == expected


def test_cim_wildcards_keep_the_date() -> None:
    assert parse_date("20190315******.******+***") == date(2019, 3, 15)


@pytest.mark.parametrize("text", ["", "not a date", "/Date(abc)/", "13/45/2017", None, 42, "20191345000000.000000+000"])
def test_parse_when_gives_none_for_garbage(text: object) -> None:
    assert parse_when(text) is None


def test_plus_seven_date_moves_to_the_previous_utc_day() -> None:
    # A PC in Vietnam (UTC+7) shows 03:30 local on the 5th; in UTC that is still the 4th.
    assert parse_date("2020-01-05T03:30:00+07:00") == date(2020, 1, 4)


def test_records_accept_object_list_wrapped_and_empty() -> None:
    assert records({"a": 1}) == [{"a": 1}]
    assert records([{"a": 1}, {"a": 2}, "junk"]) == [{"a": 1}, {"a": 2}]
    assert records({"value": [{"a": 1}], "Count": 1}) == [{"a": 1}]
    assert records(None) == []
    assert first(None) == {}
    with pytest.raises(ValueError):
        records(3)


def test_load_json_handles_bom_and_empty_output() -> None:
    assert load_json("\ufeff{\"a\":  1}") == {"a": 1}
    assert load_json("  \r\n") is None
    with pytest.raises(ValueError):
        load_json("{ not json")


@pytest.mark.parametrize("text", ["To be filled by O.E.M.", "Default string", " System Serial Number ", "", None,
                                  "Not Specified"])
def test_placeholders_are_unknown(text: str | None) -> None:
    assert clean(text) is None


def test_clean_serial_rejects_repeated_characters() -> None:
    assert clean_serial("00000000") is None
    assert clean_serial("0000-0000-0000") is None
    assert clean_serial("7XK2M52") == "7XK2M52"


def test_numbers_and_booleans() -> None:
    assert to_int("42") == 42 and to_int(True) is None and to_int("x") is None and to_int(3.9) == 3
    assert to_bool(1) is True and to_bool(0) is False and to_bool(2) is None
    assert to_bool("True") is True and to_bool("false") is False and to_bool(None) is None


def test_usable_uuid_rejects_shared_and_blank_ids() -> None:
    assert usable_uuid("03000200-0400-0500-0006-000700080009") is None
    assert usable_uuid("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF") is None
    assert usable_uuid("36383150-3630-5A43-4A39-323130414243") == "36383150-3630-5a43-4a39-323130414243"
    assert usable_uuid("not-a-uuid") is None


# ---------------------------------------------------------------- host snapshot (psutil)


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


# ---------------------------------------------------------------- hardware


@pytest.mark.parametrize(("codes", "chassis"), [
    ([3], "desktop"), ([6], "desktop"), ([35], "desktop"), ([13], "desktop"), ([9], "laptop"), ([10], "laptop"),
    ([31], "laptop"), ([23], "server"), ([17], "server"), ([1], "other"), ([2], None), ([], None),
    ([3, 10], "laptop"),  # a docked notebook reports both; the notebook is what moves
])
def test_smbios_codes(codes: list[int], chassis: str | None) -> None:
    assert chassis_from(codes) == chassis


@pytest.mark.parametrize(("vendor", "model"), [
    ("VMware, Inc.", "VMware Virtual Platform"), ("innotek GmbH", "VirtualBox"), ("QEMU", "Standard PC (Q35 + ICH9)"),
    ("Microsoft Corporation", "Virtual Machine"), ("Xen", "HVM domU"), ("Parallels Software", "Parallels Virtual"),
])
def test_hypervisors_are_virtual(vendor: str, model: str) -> None:
    assert is_virtual(vendor, model)
    assert chassis_from([3], vendor, model) == "virtual"


def test_real_machines_are_not_virtual() -> None:
    assert not is_virtual("Dell Inc.", "OptiPlex 3020")
    assert not is_virtual("Microsoft Corporation", "Surface Pro 7")
    assert not is_virtual(None, None)


# ---------------------------------------------------------------- operating system


def test_from_epoch() -> None:
    assert from_epoch(1709856300.7) == datetime(2024, 3, 8, 0, 5, tzinfo=timezone.utc)
    assert from_epoch(None) is None and from_epoch(0) is None


# ---------------------------------------------------------------- firewall


def _p(name: str, enabled: bool | None, active: bool | None) -> FirewallProfile:
    return FirewallProfile(name=name, enabled=enabled, active=active)


def test_inactive_profiles_do_not_count() -> None:
    assert overall([_p("Domain", True, True), _p("Public", False, False)]) is True


def test_unknown_activity_counts_as_active() -> None:
    assert overall([_p("Domain", True, None), _p("Public", False, None)]) is False


def test_unknown_state_of_an_active_profile_is_unknown() -> None:
    assert overall([_p("Domain", True, True), _p("Private", None, True)]) is None
    assert overall([]) is None
    assert overall([_p("Public", True, False)]) is None


# ---------------------------------------------------------------- network


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


# ---------------------------------------------------------------- peripherals




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
