"""XProtect Remediator's results from the unified log (``log show --style ndjson``)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from agent.collectors import _macos as mac
from agent.collectors._common import Errors, ProbeError

from ..helpers import REPLAY


def _event(status: str, caused: list[object], plugin: str = "Adload",
           stamp: str = "2024-05-18 09:31:02.551010+0700") -> str:
    message = json.dumps({"caller": f"XProtectRemediator{plugin}", "status_message": status, "caused_by": caused})
    path = f"/Library/Apple/System/Library/CoreServices/XProtect.app/Contents/MacOS/XProtectRemediator{plugin}"
    return json.dumps({"eventMessage": message, "processImagePath": path, "timestamp": stamp,
                       "subsystem": "com.apple.XProtectFramework.PluginAPI", "category": "XPEvent.structured"})


def test_clean_scans_count_as_a_readable_history() -> None:
    seen, found = mac.parse_xprotect_events(_event("NoThreatDetected", []) + "\n" + _event("NoThreatDetected", [],
                                                                                           "Pirrit"))
    assert (seen, found) == (2, [])


def test_a_remediated_threat_and_one_still_there() -> None:
    text = "\n".join([
        _event("ThreatRemediated", ["/Users/a/Library/Application Support/.x/Bonjour"]),
        _event("ThreatDetected", ["/Users/a/Library/LaunchAgents/com.x.plist", {"pid": 77}], "Pirrit",
               "2024-05-19 10:00:00.000001+0700"),
        "Filtering the log data using \"subsystem == ...\"",  # what log show may print first: skipped
        json.dumps({"eventMessage": "not json"}),
    ])
    seen, found = mac.parse_xprotect_events(text)
    assert seen == 2
    adload, pirrit = found
    assert (adload.threat, adload.status, adload.action, adload.action_success) == (
        "Adload", "remediated", "remove", True)
    assert adload.detected_at == adload.remediated_at == datetime(2024, 5, 18, 2, 31, 2, 551010, tzinfo=timezone.utc)
    assert (pirrit.status, pirrit.action, pirrit.resources) == (
        "active", None, ["/Users/a/Library/LaunchAgents/com.x.plist", '{"pid": 77}'])
    assert {d.source for d in found} == {"xprotect"} and adload.id == mac.parse_xprotect_events(text)[1][0].id


class _Src:
    platform, live = "darwin", False

    def __init__(self, value: str | ProbeError) -> None:
        self.value = value

    def read_bytes(self, name: str) -> bytes:
        assert name == "XProtectRemediator.ndjson"
        if isinstance(self.value, ProbeError):
            raise self.value
        return self.value.encode()

    def names(self, prefix: str) -> list[str]:
        return []


def test_readable_only_when_the_log_holds_its_scans() -> None:
    found = mac.detections(_Src(_event("NoThreatDetected", [])), Errors(), [])
    assert (found.readable, found.sources, found.items) == (True, ["xprotect"], [])
    errors = Errors()
    empty = mac.detections(_Src(""), errors, [])
    assert (empty.readable, empty.unreadable) == (False, ["XProtect"])
    assert [e.error for e in errors.items] == ["not_found"]
    errors = Errors()
    slow = mac.detections(_Src(ProbeError("timeout", "log show killed after 20 s")), errors, [])
    assert (slow.readable, slow.unreadable, [e.error for e in errors.items]) == (False, ["XProtect"], ["timeout"])


def test_the_probe_asks_the_unified_log_without_root() -> None:
    assert mac.XPR_LOG[:4] == ["log", "show", "--style", "ndjson"] and "XPEvent.structured" in mac.XPR_LOG[-1]
    assert "XProtectRemediator.ndjson" in mac.source_names(mac.LiveSource())
    raw = (REPLAY / "macos-xprotect-remediated/darwin/XProtectRemediator.ndjson").read_text()
    seen, found = mac.parse_xprotect_events(raw)
    assert seen == 5 and [(d.threat, d.status) for d in found] == [("Adload", "remediated")]
