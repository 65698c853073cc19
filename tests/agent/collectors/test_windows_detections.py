"""Defender's threat history: the probes in the one PowerShell run, the join, the status codes, the bounds, and
when the history counts (never a zero for a product whose history cannot be read)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import pytest

from agent.collectors import _windows as win
from agent.collectors._common import DETECTIONS_BUDGET, MAX_DETECTIONS, Errors, ProbeError, decode, load_json, records
from shared.schema import AntivirusProduct

from ..helpers import REPLAY


def _detection(**changes: Any) -> dict[str, Any]:
    """One Get-MpThreatDetection row in PowerShell 5.1's shape (fixture windows10-defender-one-threat)."""
    text = decode((REPLAY / "windows10-defender-one-threat/windows/MpThreatDetection.json").read_bytes())
    return {**json.loads(text), **changes}


def _threat(**changes: Any) -> dict[str, Any]:
    text = decode((REPLAY / "windows10-defender-one-threat/windows/MpThreat.json").read_bytes())
    return {**json.loads(text), **changes}


def test_script_reads_both_histories_in_the_single_powershell_run() -> None:
    script = win.script()
    assert "Emit 'MpThreatDetection.json' { Get-MpThreatDetection" in script
    assert "Emit 'MpThreat.json' { Get-MpThreat " in script
    assert f"-First {MAX_DETECTIONS + 1} " in script  # bounded at the source, one more to tell it was cut
    assert "Select-Object -First 16)" in script  # resources cut to what the contract keeps
    assert {"MpThreatDetection.json", "MpThreat.json"} <= set(win.source_names(win.LiveSource(1.0)))


def test_script_output_carries_the_history_and_its_failure() -> None:
    lines = [json.dumps({"name": "MpThreatDetection.json", "ok": json.dumps([_detection()])}),
             json.dumps({"name": "MpThreat.json", "error": "CimException", "message": "0x800106ba"})]
    out = win.parse_script_output("\n".join(lines))
    detections = out["MpThreatDetection.json"]
    assert isinstance(detections, str) and json.loads(detections)[0]["ThreatStatusID"] == 3
    failure = out["MpThreat.json"]
    assert isinstance(failure, ProbeError) and failure.error == "probe_failed" and "0x800106ba" in failure.detail


@pytest.mark.parametrize("folder", ["windows10-defender-threats-ps51", "windows10-defender-threats-ps7"])
def test_ps51_utf16_and_ps7_iso_dates_give_the_same_detections(folder: str) -> None:
    root = REPLAY / folder / "windows"
    items = records(load_json(decode((root / "MpThreatDetection.json").read_bytes())))
    threats = records(load_json(decode((root / "MpThreat.json").read_bytes())))
    found = win.parse_defender_detections(items, threats)
    assert [(d.threat, d.status, d.severity, d.action, d.action_success) for d in found] == [
        ("HackTool:Win32/Keygen", "remediated", "moderate", "block", True),  # newest first
        ("Worm:Win32/Autorun!inf", "failed", "high", "remove", False),  # 103: the removal failed
        ("TrojanDownloader:O97M/Emotet.PDS!MTB", "remediated", "severe", "quarantine", True),
    ]
    emotet = found[2]
    assert emotet.id == "{1A2B3C4D-0000-4F00-9A11-0123456789AB}"  # Defender's DetectionID: stable across reports
    assert emotet.detected_at == datetime(2024, 5, 16, 2, 12, 41, tzinfo=timezone.utc)  # /Date(ms)/ or +07:00
    assert emotet.remediated_at == datetime(2024, 5, 16, 2, 13, 5, tzinfo=timezone.utc)
    assert emotet.resources == ["C:\\Users\\canbo.vanthu\\Downloads\\HoSo_2024.docm"]  # 'file:_' taken off
    assert found[1].remediated_at is None and found[1].resources == ["E:\\autorun.inf",
                                                                      "E:\\RECYCLER\\S-1-5-21\\svchost.exe"]
    assert found[0].resources == [
        "C:\\Users\\canbo.vanthu\\Downloads\\crack_office.zip (https://example.invalid/crack_office.zip)"]
    assert {(d.source, d.product) for d in found} == {("defender", "Microsoft Defender Antivirus")}


def test_the_utf16_capture_is_utf16() -> None:
    raw = (REPLAY / "windows10-defender-threats-ps51/windows/MpThreatDetection.json").read_bytes()
    assert raw.startswith(b"\xff\xfe") and b"\\/Date(" in raw.decode("utf-16").encode()


@pytest.mark.parametrize(("status_id", "status"), [
    (0, "unknown"), (1, "active"), (2, "remediated"), (3, "remediated"), (4, "remediated"), (5, "allowed"),
    (6, "remediated"), (102, "failed"), (103, "failed"), (104, "failed"), (105, "failed"), (106, "failed"),
    (107, "failed"), (None, "unknown"),
])
def test_threat_status_codes(status_id: int | None, status: str) -> None:
    found = win.parse_defender_detections([_detection(ThreatStatusID=status_id)], [_threat(IsActive=False)])
    assert found[0].status == status


@pytest.mark.parametrize(("action_id", "action"), [(0, None), (1, "clean"), (2, "quarantine"), (3, "remove"),
                                                   (6, "allow"), (8, "user defined"), (9, "none"), (10, "block")])
def test_cleaning_actions(action_id: int, action: str | None) -> None:
    found = win.parse_defender_detections([_detection(CleaningActionID=action_id)], [_threat()])
    assert found[0].action == action
    assert found[0].action_success is (None if action is None else True)  # no action: its success means nothing


@pytest.mark.parametrize(("severity_id", "severity"), [(0, "unknown"), (1, "low"), (2, "moderate"), (3, "unknown"),
                                                       (4, "high"), (5, "severe"), (None, "unknown")])
def test_severity_codes(severity_id: int | None, severity: str) -> None:
    assert win.parse_defender_detections([_detection()], [_threat(SeverityID=severity_id)])[0].severity == severity


def test_category_codes_and_the_name_when_the_code_is_unknown() -> None:
    def category(code: int | None, name: str = "Virus:DOS/EICAR_Test_File") -> str | None:
        return win.parse_defender_detections([_detection()], [_threat(CategoryID=code, ThreatName=name)])[0].category

    assert (category(42), category(8), category(4), category(30), category(50)) == (
        "Virus", "Trojan", "Trojan downloader", "Exploit", "Ransom")
    assert category(None, "Ransom:Win32/WannaCrypt") == "Ransom" and category(200, "no type here") is None


def test_a_detection_still_active_and_an_unknown_status_of_an_active_threat() -> None:
    root = REPLAY / "windows10-defender-active-threat/windows"
    found = win.parse_defender_detections(records(load_json(decode((root / "MpThreatDetection.json").read_bytes()))),
                                          records(load_json(decode((root / "MpThreat.json").read_bytes()))))
    assert [(d.status, d.action, d.action_success, d.remediated_at, d.category) for d in found] == [
        ("active", None, None, None, "Trojan")]
    assert found[0].resources[1] == "process:_pid:6120,ProcessStart:133773917000000000"  # not a file: kept whole
    unknown = win.parse_defender_detections([_detection(ThreatStatusID=0)], [_threat(IsActive=True)])
    assert unknown[0].status == "active"  # Get-MpThreat still calls it active


def test_never_dates_missing_threats_and_rows_without_ids() -> None:
    row = _detection(RemediationTime="/Date(-62135596800000)/", DetectionID=None, ThreatID=99)
    found = win.parse_defender_detections([row, {"DetectionID": "{x}"}], [])
    assert len(found) == 1  # a row naming no threat at all is dropped
    assert found[0].threat == "ThreatID 99" and found[0].remediated_at is None  # DateTime.MinValue is "never"
    again = win.parse_defender_detections([row], [])
    assert found[0].id == again[0].id and found[0].id.startswith("defender:")  # digest: the same every time


def _products(*items: tuple[str, str, bool | None]) -> list[AntivirusProduct]:
    return [AntivirusProduct(name=name, source=source, enabled=enabled) for name, source, enabled in items]


class _Src:
    """A capture held in memory: name -> text, or the failure in its place."""

    platform, live = "windows", False

    def __init__(self, outputs: Mapping[str, str | ProbeError]) -> None:
        self.outputs = outputs

    def read_bytes(self, name: str) -> bytes:
        value = self.outputs.get(name, ProbeError("not_found", f"{name} is not in the capture"))
        if isinstance(value, ProbeError):
            raise value
        return value.encode("utf-16")  # as Windows PowerShell 5.1 writes with '>'

    def names(self, prefix: str) -> list[str]:
        return []


_HISTORY = {"MpThreatDetection.json": json.dumps([_detection()]), "MpThreat.json": json.dumps(_threat())}
_OFF = ProbeError("probe_failed", "MpThreatDetection.json: CimException: 0x800106ba")
_DEFENDER = ("Windows Defender", "security_center", True)
_DEFENDER_OFF = ("Windows Defender", "security_center", False)
_KASPERSKY = ("Kaspersky Endpoint Security for Windows", "security_center", True)


def test_defender_protecting_with_history_is_readable() -> None:
    errors = Errors()
    found = win.detections(_Src(_HISTORY), errors, _products(_DEFENDER))
    assert (found.readable, found.sources, found.unreadable, len(found.items)) == (True, ["defender"], [], 1)
    assert errors.items == []


def test_empty_history_is_a_readable_zero() -> None:
    found = win.detections(_Src({"MpThreatDetection.json": "", "MpThreat.json": ""}), Errors(), _products(_DEFENDER))
    assert (found.readable, found.items, found.truncated) == (True, [], False)


def test_another_product_in_charge_is_unknown_never_zero() -> None:
    errors = Errors()
    found = win.detections(_Src({"MpThreatDetection.json": _OFF, "MpThreat.json": _OFF}), errors,
                           _products(_KASPERSKY, _DEFENDER_OFF))
    assert (found.readable, found.sources, found.items) == (False, [], [])
    assert found.unreadable == ["Windows Defender", "Kaspersky Endpoint Security for Windows"]
    assert errors.items == []  # Defender failing while another product protects is expected, not news


def test_a_passive_defender_history_is_sent_but_does_not_make_the_pc_readable() -> None:
    found = win.detections(_Src(_HISTORY), Errors(), _products(_KASPERSKY, _DEFENDER_OFF))
    assert (found.readable, found.sources, len(found.items)) == (False, ["defender"], 1)
    assert found.unreadable == ["Kaspersky Endpoint Security for Windows"]


def test_defender_on_beside_a_product_that_is_off_is_readable() -> None:
    found = win.detections(_Src(_HISTORY), Errors(), _products(_DEFENDER, ("Avast Free Antivirus",
                                                                            "security_center", False)))
    assert (found.readable, found.unreadable) == (True, ["Avast Free Antivirus"])


def test_defender_history_failing_while_it_protects_is_reported() -> None:
    errors = Errors()
    found = win.detections(_Src({"MpThreatDetection.json": ProbeError("permission_denied", "access denied")}),
                           errors, _products(_DEFENDER))
    assert (found.readable, found.unreadable) == (False, ["Windows Defender"])
    assert [(e.collector, e.error) for e in errors.items] == [("detections", "permission_denied")]


def test_no_antivirus_at_all_is_unknown() -> None:
    found = win.detections(_Src({}), Errors(), [])
    assert (found.readable, found.unreadable, found.items) == (False, [], [])


def test_history_is_bounded_newest_first() -> None:
    rows = [_detection(DetectionID=f"{{{i:08d}}}", InitialDetectionTime=f"/Date({1715825561000 + i * 1000})/")
            for i in range(MAX_DETECTIONS + 1)]
    found = win.detections(_Src({"MpThreatDetection.json": json.dumps(rows), "MpThreat.json": json.dumps(_threat())}),
                           Errors(), _products(_DEFENDER))
    assert len(found.items) == MAX_DETECTIONS and found.truncated is True
    assert found.items[0].id == f"{{{MAX_DETECTIONS:08d}}}" and found.items[-1].id == "{00000001}"
    ordered = [d.detected_at for d in found.items]
    assert ordered == sorted(ordered, reverse=True)  # type: ignore[type-var]


def test_garbage_history_is_a_parse_error_not_a_crash() -> None:
    errors = Errors()
    found = win.detections(_Src({"MpThreatDetection.json": "{not json"}), errors, _products(_DEFENDER))
    assert found.readable is False and [(e.collector, e.error) for e in errors.items] == [("detections", "parse_error")]


def test_oversized_names_are_cut_to_the_contract() -> None:
    long_type = "T" * 300
    found = win.parse_defender_detections([_detection(DetectionID="{" + "9" * 300 + "}")],
                                          [_threat(ThreatName=f"{long_type}:Win32/X", CategoryID=None)])
    assert len(found[0].id) <= 128 and len(found[0].threat) <= 512
    assert found[0].category is not None and len(found[0].category) <= 128


def test_detections_stay_within_the_report_budget() -> None:
    huge = [f"file:_C:\\Users\\canbo\\{'x' * 480}\\{n}.exe" for n in range(16)]
    rows = [_detection(DetectionID=f"{{{i:08d}}}", Resources=huge, InitialDetectionTime=f"/Date({1715825561000 + i})/")
            for i in range(MAX_DETECTIONS)]
    found = win.detections(_Src({"MpThreatDetection.json": json.dumps(rows), "MpThreat.json": json.dumps(_threat())}),
                           Errors(), _products(_DEFENDER))
    assert found.truncated is True and 0 < len(found.items) < MAX_DETECTIONS
    assert len(found.model_dump_json()) <= DETECTIONS_BUDGET
    assert found.items[0].id == f"{{{MAX_DETECTIONS - 1:08d}}}"  # the newest are the ones kept
