"""Detections on replayed captures of every OS, and a schema-2 report with detections taken by the real server."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests

from shared.protocol import ENROLL_PATH, REPORTS_PATH
from shared.schema import SCHEMA_VERSION, InventoryReport

from .helpers import replay
from .realprocs import RealServer


@pytest.mark.parametrize(("folder", "readable", "sources", "unreadable", "statuses"), [
    ("windows10-defender-threats-ps51", True, ["defender"], [], ["remediated", "failed", "remediated"]),
    ("windows10-defender-threats-ps7", True, ["defender"], [], ["remediated", "failed", "remediated"]),
    ("windows10-defender-one-threat", True, ["defender"], [], ["remediated"]),
    ("windows10-defender-no-threats", True, ["defender"], [], []),
    ("windows10-defender-active-threat", True, ["defender"], [], ["active"]),
    # Bitdefender protects, Defender is off: its history fails (0x800106ba) or holds what it saw while passive.
    ("windows11-bitdefender-defender-off", False, [], ["Windows Defender", "Bitdefender Antivirus"], []),
    ("windows11-bitdefender-passive-history", False, ["defender"], ["Bitdefender Antivirus"],
     ["remediated", "failed", "remediated"]),
    ("windows10-full-capture", False, [], ["Windows Defender", "ESET Security"], []),
    # clamscan moved one file and failed to move another; clamonacc's --move quarantined the keygen.
    ("linux-clamav-detections", True, ["clamav"], [], ["active", "remediated", "failed", "active", "active",
                                                        "remediated", "active"]),
    ("linux-office-desktop", True, ["clamav"], [], []),  # clamd's log, nothing found
    ("linux-clamav-log-denied", False, [], ["ClamAV"], []),
    ("linux-qemu-vm", False, [], [], []),  # no antivirus: nothing could have found anything
    ("macos-xprotect-remediated", True, ["xprotect"], [], ["remediated"]),
    ("macos-intel-imac", True, ["xprotect"], [], []),
])
def test_replayed_detections(folder: str, readable: bool, sources: list[str], unreadable: list[str],
                             statuses: list[str]) -> None:
    report = replay(folder)
    found = report.detections
    assert found is not None
    assert (found.readable, found.sources, found.unreadable) == (readable, sources, unreadable)
    assert [d.status for d in found.items] == statuses
    assert found.truncated is False
    times = [d.detected_at for d in found.items if d.detected_at]
    assert times == sorted(times, reverse=True)
    assert not [e for e in report.errors if e.error == "internal_error"]


def test_replay_gives_the_same_ids_every_time() -> None:
    for folder in ("windows10-defender-threats-ps51", "linux-clamav-detections", "macos-xprotect-remediated"):
        first, second = replay(folder).detections, replay(folder).detections
        assert first is not None and second is not None
        assert [d.id for d in first.items] == [d.id for d in second.items]


def test_an_old_capture_without_the_history_says_so() -> None:
    report = replay("windows10-defender")  # captured before detections were collected
    assert report.detections is not None and report.detections.readable is False
    assert report.detections.unreadable == ["Windows Defender"]
    assert ("detections", "not_found") in {(e.collector, e.error) for e in report.errors}


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["windows10-defender-threats-ps51", "linux-clamav-detections",
                                    "macos-xprotect-remediated", "windows11-bitdefender-defender-off"])
def test_the_real_server_takes_a_report_with_detections(server: RealServer, folder: str) -> None:
    report = replay(folder)
    assert report.schema_version == SCHEMA_VERSION == 2 and report.detections is not None
    report = report.model_copy(update={"collected_at": datetime.now(timezone.utc)})
    enrolled = requests.post(server.url + ENROLL_PATH, timeout=30, json={
        "token": server.token(), "machine_id": report.machine_id, "hostname": report.hostname})
    assert enrolled.status_code in (200, 201), enrolled.text
    key = enrolled.json()["agent_key"]
    body = report.model_dump_json()
    InventoryReport.model_validate_json(body)  # what goes on the wire is the contract
    answer = requests.post(server.url + REPORTS_PATH, data=body, timeout=30,
                           headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    assert answer.status_code in (200, 201, 202), answer.text  # 201: accepted and stored
    assert answer.json()["status"] == "accepted" and answer.json()["report_id"] == str(report.report_id)
    again = requests.post(server.url + REPORTS_PATH, data=body, timeout=30,
                          headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    assert again.status_code in (200, 201, 202) and again.json()["status"] == "duplicate"
