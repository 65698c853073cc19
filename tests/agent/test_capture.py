"""Capture folders: failures are kept as .error files, replay reads them back the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.capture import ReplayError, ReplaySource, capture
from agent.collectors import current_platform
from agent.collectors._common import ProbeError


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "platform").write_text("\ufeffWindows\r\n", encoding="utf-8")
    root = tmp_path / "windows"
    root.mkdir()
    (root / "Win32_BIOS.json").write_text("{}")
    (root / "AntiVirusProduct.json.error").write_text("not_found\nInvalid namespace\n")
    (root / "drm").mkdir()
    (root / "drm" / "a.edid").write_bytes(b"x")
    (root / "drm" / "b.edid.error").write_text("probe_failed\n")
    return tmp_path


def test_replay_source_reads_files_errors_and_gaps(tmp_path: Path) -> None:
    src = ReplaySource(_folder(tmp_path))
    assert src.platform == "windows" and src.live is False
    assert src.read_bytes("Win32_BIOS.json") == b"{}"
    with pytest.raises(ProbeError) as caught:
        src.read_bytes("AntiVirusProduct.json")
    assert (caught.value.error, caught.value.detail) == ("not_found", "Invalid namespace")
    with pytest.raises(ProbeError) as caught:
        src.read_bytes("Win32_Printer.json")
    assert caught.value.error == "not_found" and "not in the capture" in caught.value.detail
    assert src.names("drm/") == ["drm/a.edid"] and src.names("none/") == []


def test_replay_source_refuses_what_is_not_a_capture(tmp_path: Path) -> None:
    with pytest.raises(ReplayError):
        ReplaySource(tmp_path)


@pytest.mark.skipif(current_platform() != "linux", reason="captures this Linux machine")
def test_capture_writes_error_files_and_replaces_stale_ones(tmp_path: Path) -> None:
    root = tmp_path / "linux"
    root.mkdir()
    (root / "os-release.error").write_text("timeout\nold run\n")
    capture(tmp_path)
    assert (root / "os-release").is_file() and not (root / "os-release.error").exists()
    written = {p.name for p in root.rglob("*")}
    for name in ("host.json", "disks.json", "proc-net-route", "cpuinfo"):
        assert name in written
    # a probe that cannot run here leaves its reason, e.g. nft or lpstat not installed
    errors = sorted(root.rglob("*.error"))
    for path in errors:
        assert path.read_text().splitlines()[0] in ("not_found", "permission_denied", "probe_failed", "timeout")
