"""A live collection on this machine, its capture replayed, and the promise never to crash on a fact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent import collect as collect_module
from agent.capture import capture
from agent.collect import CollectError, collect_report
from agent.collectors import current_platform
from shared.schema import InventoryReport

pytestmark = pytest.mark.skipif(current_platform() != "linux", reason="the live tests run on the Linux CI machine")


def _facts(report: InventoryReport) -> dict[str, Any]:
    """What a live collection and a replay of its capture must agree on."""
    data: dict[str, Any] = json.loads(report.model_dump_json())
    for key in ("report_id", "collected_at"):
        data.pop(key)
    data["network"].pop("internet")
    return data


def test_live_collection_is_complete_and_honest(tmp_path: Path, listening_port: int) -> None:
    report = collect_report(targets=[f"127.0.0.1:{listening_port}"], public_target=None, data_dir=tmp_path)
    assert report.platform == "linux" and report.hostname
    assert report.machine_id and report.machine_id_source in ("smbios_uuid", "machine_id", "generated")
    assert report.hardware.cpu_threads and report.hardware.ram_bytes
    assert report.os.name and report.os.last_boot is not None
    assert report.network.interfaces
    assert report.network.internet.reachable is True
    assert report.network.internet.target == f"127.0.0.1:{listening_port}"
    if not Path("/sys/class/dmi/id").exists():  # a container: the gap is said, not papered over
        assert report.hardware.bios_date is None and report.hardware.vendor is None
        assert any("DMI" in (e.detail or "") for e in report.errors if e.collector == "hardware")
    assert not [e for e in report.errors if e.error == "internal_error"]


def test_capture_then_replay_gives_the_same_facts(tmp_path: Path) -> None:
    out = tmp_path / "capture"
    capture(out)
    assert (out / "platform").read_text().strip() == "linux"
    assert (out / "linux" / "host.json").is_file() and (out / "linux" / "os-release").is_file()
    live = collect_report(public_target=None, data_dir=tmp_path)
    replayed = collect_report(replay=out, data_dir=tmp_path)
    assert _facts(replayed) == _facts(live)
    assert replayed.network.internet.reachable is None  # no check captured, and replay never probes


def test_capture_records_the_connectivity_check(tmp_path: Path, listening_port: int) -> None:
    capture(tmp_path, targets=[f"127.0.0.1:{listening_port}"])
    replayed = collect_report(replay=tmp_path)
    assert replayed.network.internet.reachable is True
    assert replayed.network.internet.target == f"127.0.0.1:{listening_port}"


def test_a_family_that_blows_up_becomes_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.collectors import _linux

    def broken(*_: object) -> None:
        raise RuntimeError("unexpected shape")

    monkeypatch.setattr(_linux, "antivirus", broken)
    report = collect_report(public_target=None)
    assert report.antivirus == []
    assert ("antivirus", "internal_error") in {(e.collector, e.error) for e in report.errors}


def test_not_a_capture_folder(tmp_path: Path) -> None:
    with pytest.raises(CollectError, match="not a capture folder"):
        collect_report(replay=tmp_path)
    (tmp_path / "platform").write_text("beos\n")
    with pytest.raises(CollectError, match="beos"):
        collect_report(replay=tmp_path)


def test_unsupported_os(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collect_module, "current_platform", lambda: None)
    with pytest.raises(CollectError, match="not supported"):
        collect_report(public_target=None)


def test_replay_of_a_corrupt_internet_check(tmp_path: Path) -> None:
    (tmp_path / "platform").write_text("linux")
    (tmp_path / "linux").mkdir()
    (tmp_path / "linux" / "internet.json").write_text("{broken")
    report = collect_report(replay=tmp_path)
    assert report.network.internet.reachable is None
    assert ("network", "parse_error") in {(e.collector, e.error) for e in report.errors}
