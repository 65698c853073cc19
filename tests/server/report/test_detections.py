"""The II.8 malware sentence: found and handled, still open, nothing found, and no data; Vietnamese and English."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from server.report import build_report, render
from server.services.coverage import coverage_for
from server.services.policy import Policy
from server.services.state import DetectionState, Snapshot
from tests.server.services.state_factories import AS_OF, pc, unit

T = datetime(2024, 3, 1, 3, tzinfo=timezone.utc)
UNITS = (unit("D", "district", None), unit("P1"), unit("P2"))


def found(n: int, device: int, status: str, severity: str = "severe") -> DetectionState:
    return DetectionState(id=n, device_id=device, severity=severity, status=status, first_reported_at=T,
                          status_since=T, found_in_period=True, in_period=True,
                          remediated_in_period=status == "remediated")


def _security(snap: Snapshot, lang: str = "vi") -> list[str]:
    data = json.loads(render(build_report(coverage_for(snap, Policy()), snap, lang), "json"))  # type: ignore[arg-type]
    lists = [b["items"] for b in data["blocks"] if b["type"] == "list"]
    return [line for items in lists for line in items if "độc hại" in line or "alware" in line]


def test_found_handled_and_still_open() -> None:
    devices = tuple(pc(i, "P1" if i < 3 else "P2", detections_readable=True) for i in range(1, 5))
    snap = Snapshot(AS_OF, UNITS, devices, detections=(
        found(1, 1, "remediated"), found(2, 1, "remediated", "low"), found(3, 2, "failed"),
        found(4, 3, "remediated", "high")))
    [line] = _security(snap)
    assert line.startswith("Trong kỳ, phát hiện và xử lý 4 trường hợp phần mềm độc hại trên 3 máy tính, chiếm "
                           "75,00% (3/4) số máy tính theo dõi được lịch sử phát hiện của phần mềm diệt virus; "
                           "còn 1 trường hợp chưa xử lý xong.")
    assert "Theo mức độ nguy hiểm: nghiêm trọng 2, cao 1, thấp 1." in line
    [english] = _security(snap, "en")
    assert english.startswith("In the period, 4 malware detections were found and handled on 3 computers, "
                              "75.00% (3/4)")
    assert "; 1 still to be dealt with." in english


def test_nothing_found_and_everything_done() -> None:
    devices = (pc(1, detections_readable=True), pc(2, detections_readable=False))
    [line] = _security(Snapshot(AS_OF, UNITS, devices))
    assert line == ("Trong kỳ, không phát hiện trường hợp phần mềm độc hại nào trên 1 máy tính theo dõi được lịch "
                    "sử phát hiện của phần mềm diệt virus. Chưa đọc được lịch sử phát hiện trên 1 máy tính (phần "
                    "mềm diệt virus không cho đọc hoặc phần mềm kiểm kê phiên bản cũ).")
    done = Snapshot(AS_OF, UNITS, devices, detections=(found(1, 1, "remediated"),))
    assert "đã xử lý xong toàn bộ." in _security(done)[0]
    two = Snapshot(AS_OF, UNITS, devices, detections=(found(1, 1, "remediated"), found(2, 1, "remediated")))
    assert "2 malware detections were found and handled on 1 computer, 100.00% (1/1)" in _security(two, "en")[0]
    assert _security(done, "en")[0].startswith("In the period, 1 malware detection was found and handled on 1 "
                                               "computer, 100.00% (1/1)")


def test_no_readable_history_is_no_data_never_zero() -> None:
    snap = Snapshot(AS_OF, UNITS, (pc(1), pc(2, detections_readable=False)),
                    detections=(found(1, 1, "active"),))  # a computer no longer readable: unknown now
    [line] = _security(snap)
    assert line.startswith("Tình trạng lây nhiễm phần mềm độc hại: chưa có số liệu")
    assert "0" not in line.split("(")[0]
    cov = coverage_for(snap, Policy())
    assert cov.figures["computers_with_detections"].percent is None
    assert cov.figures["computers_with_detections"].detail == {"unreadable": 2}
