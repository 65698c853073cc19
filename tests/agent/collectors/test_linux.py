"""Linux parsers on canned text, and the live probes pointed at a fake root."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from agent.collectors import _linux as lx
from agent.collectors._common import Errors, ProbeError
from tests.agent.helpers import REPLAY


def test_os_release_and_cpuinfo() -> None:
    release = lx.parse_os_release('NAME="Debian GNU/Linux"\n# comment\nVERSION_ID=\'12\'\nbroken line\n')
    assert release == {"NAME": "Debian GNU/Linux", "VERSION_ID": "12"}
    assert lx.parse_cpuinfo("processor\t: 0\nmodel name\t: Intel(R) Core(TM) i5-7500\n") == "Intel(R) Core(TM) i5-7500"
    assert lx.parse_cpuinfo("Hardware\t: BCM2835\nModel\t: Raspberry Pi 4 Model B Rev 1.4\n") == (
        "Raspberry Pi 4 Model B Rev 1.4")


def test_route_gateway() -> None:
    table = ("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
             "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n"
             "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\n")
    assert lx.parse_route_gateway(table) == "192.0.2.1"
    assert lx.parse_route_gateway("Iface\tDestination\n") is None


def test_disks_from_sysfs_snapshot() -> None:
    disks = lx.parse_disks(json.dumps([{"name": "sda", "model": "ST1000", "sectors": "1953525168", "rotational": "1"},
                                       {"name": "nvme0n1", "model": None, "sectors": "2", "rotational": "0"},
                                       {"name": "vdb", "sectors": None, "rotational": None}]))
    assert [(d.model, d.size_bytes, d.kind) for d in disks] == [
        ("ST1000", 1953525168 * 512, "hdd"), (None, 1024, "ssd"), (None, None, "unknown")]


def test_clamav_header_and_clamscan_version() -> None:
    header = "ClamAV-VDB:09 Jan 2026 08-26 +0000:27875:2064012:90:abc:sig:raynman:1767947162" + " " * 100
    assert lx.parse_clamav_header(header) == ("27875", datetime.fromtimestamp(1767947162, tz=timezone.utc))
    with pytest.raises(ValueError):
        lx.parse_clamav_header("MZ\x90 not clamav")
    engine, db, when = lx.parse_clamscan_version("ClamAV 1.0.9/27875/Fri Jan  9 08:26:02 2026\n")
    assert (engine, db, when) == ("1.0.9", "27875", datetime(2026, 1, 9, 8, 26, 2, tzinfo=timezone.utc))
    assert lx.parse_clamscan_version("ClamAV 1.0.9") == ("1.0.9", None, None)
    with pytest.raises(ValueError):
        lx.parse_clamscan_version("command not found")


def test_lpstat_and_nft() -> None:
    printers = lx.parse_lpstat("device for HP_M402: usb://HP/LaserJet?serial=1\ndevice for Canon_MF3010: "
                               "ipp://192.168.1.60/ipp/print\ndevice for Brother_DCP: socket://10.0.0.9\nno device\n")
    assert [(p.name, p.kind, p.connection) for p in printers] == [
        ("HP_M402", "printer", "usb"), ("Canon_MF3010", "multifunction", "network"),
        ("Brother_DCP", "multifunction", "network")]
    assert lx.parse_nft("table inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n")
    assert not lx.parse_nft("")


def _fake_root(tmp_path: Path) -> Path:
    """A minimal Linux tree: DMI from the office desktop capture, os-release, machine-id, ufw, ClamAV."""
    root = tmp_path / "root"
    dmi = root / "sys/class/dmi/id"
    shutil.copytree(REPLAY / "linux-office-desktop/linux/dmi", dmi, ignore=shutil.ignore_patterns("*.error"))
    (root / "etc/ufw").mkdir(parents=True)
    (root / "etc/ufw/ufw.conf").write_text("ENABLED=no\n")
    (root / "etc/os-release").write_text('PRETTY_NAME="Test Linux 1"\nVERSION_ID="1"\n')
    (root / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    (root / "var/log/installer").mkdir(parents=True)
    os.utime(root / "var/log/installer", (1577836800, 1577836800))  # 2020-01-01
    db = root / "var/lib/clamav"
    db.mkdir(parents=True)
    header = b"ClamAV-VDB:x:27000:1:90:m:s:b:1709814900".ljust(512)
    (db / "daily.cld").write_bytes(header + b"\x1f\x8b compressed signatures")
    (root / "proc").mkdir()
    (root / "sys/class/drm/card0-HDMI-A-1").mkdir(parents=True)
    edid = REPLAY / "linux-office-desktop/linux/drm/card0-HDMI-A-1.edid"
    shutil.copy(edid, root / "sys/class/drm/card0-HDMI-A-1/edid")
    (root / "sys/class/drm/card0-DP-2").mkdir(parents=True)
    (root / "sys/class/drm/card0-DP-2/edid").write_bytes(b"")  # nothing connected
    return root


def test_live_source_reads_a_fake_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-commands"))  # only the fake tree speaks, not this machine's nft
    src = lx.LiveSource(root=_fake_root(tmp_path))
    errors = Errors()
    hw = lx.hardware(src, errors)
    assert (hw.vendor, hw.model, hw.chassis) == ("Dell Inc.", "OptiPlex 7050", "desktop")
    assert str(hw.bios_date) == "2017-11-13"
    assert hw.serial is None and any("product_serial" in (e.detail or "") for e in errors.items)
    assert lx.identity(src, errors) == [("machine_id", "0123456789abcdef0123456789abcdef")]
    osi = lx.operating_system(src, errors)
    assert osi.name == "Test Linux 1" and str(osi.install_date) == "2020-01-01"
    fw = lx.firewall(src, errors)
    assert fw.source == "ufw" and fw.enabled is False
    assert src.names("drm/") == ["drm/card0-HDMI-A-1.edid"]
    assert [m.model for m in lx.peripherals(src, errors).monitors] == ["DELL P2419H"]
    assert src.read_bytes("clamav/db-header").startswith(b"ClamAV-VDB:")
    assert len(src.read_bytes("clamav/db-header")) == 512
    with pytest.raises(ProbeError):
        src.read_bytes("no-such-probe")


def test_missing_dmi_is_explained_once(tmp_path: Path) -> None:
    src = lx.LiveSource(root=tmp_path)
    errors = Errors()
    hw = lx.hardware(src, errors)
    assert hw.bios_date is None and hw.vendor is None
    dmi = [e for e in errors.items if "DMI" in (e.detail or "")]
    assert len(dmi) == 1 and dmi[0].error == "not_found"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_root_only_files_are_permission_errors(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    secret = root / "sys/class/dmi/id/product_uuid"
    secret.write_text("x")
    secret.chmod(0)
    with pytest.raises(ProbeError) as caught:
        lx.LiveSource(root=root).read_bytes("dmi/product_uuid")
    assert caught.value.error == "permission_denied"


def test_ufw_off_with_an_unreadable_ruleset_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _fake_root(tmp_path)  # ufw.conf says ENABLED=no
    nft = tmp_path / "bin" / "nft"
    nft.parent.mkdir()
    nft.write_text("#!/bin/sh\necho 'Error: Operation not permitted' >&2\nexit 1\n")
    nft.chmod(0o755)
    monkeypatch.setenv("PATH", str(nft.parent))
    errors = Errors()
    fw = lx.firewall(lx.LiveSource(root=root), errors)
    assert fw.enabled is None and [p.name for p in fw.profiles] == ["ufw"]
    assert [(e.collector, e.error) for e in errors.items] == [("firewall", "permission_denied")]


def test_commands_that_are_not_installed_are_not_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ProbeError) as caught:
        lx.LiveSource(root=tmp_path).read_bytes("nft-ruleset")
    assert caught.value.error == "not_found"


def test_failing_command_reports_permission(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nft = tmp_path / "nft"
    nft.write_text("#!/bin/sh\necho 'Error: Operation not permitted' >&2\nexit 1\n")
    nft.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ProbeError) as caught:
        lx.LiveSource(root=tmp_path).read_bytes("nft-ruleset")
    assert caught.value.error == "permission_denied"


def test_live_host_snapshot_and_disks_on_this_machine() -> None:
    src = lx.LiveSource()
    host = json.loads(src.read_bytes("host.json"))
    assert host["cpu_threads"] >= 1 and host["ram_bytes"] > 0
    assert any(i["name"] for i in host["interfaces"])
    assert isinstance(json.loads(src.read_bytes("disks.json")), list)
