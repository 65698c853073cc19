"""ClamAV's detections: FOUND lines of clamd, clamscan and the journal in their real shapes, what happened to each
file, the logs found on a fake root, capture and replay, and when the history counts."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.capture import capture
from agent.collect import collect_report
from agent.collectors import _linux as lx
from agent.collectors._common import Errors
from shared.schema import AntivirusProduct

from ..helpers import REPLAY

ICT = timezone(timedelta(hours=7))
CLAMAV = [AntivirusProduct(name="ClamAV", source="clamav", enabled=True)]
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def test_clamd_log_with_logtime_and_the_eicar_test_file() -> None:
    log = ("Sat May 18 09:00:21 2024 -> SelfCheck: Database status OK.\n"
           "Sat May 18 09:02:40 2024 -> /home/canbo/Desktop/eicar.com: Win.Test.EICAR_HDB-1 FOUND\n"
           "Sat May 18 09:03:10 2024 -> /home/canbo/eicar.txt: Eicar-Signature(44d88612fea8a8f36de82e1278abb02f:68)"
           " FOUND\n")
    found = lx.parse_clamav_log(log, utc_offset_minutes=420)
    assert [(d.threat, d.resources, d.status, d.source) for d in found] == [
        ("Win.Test.EICAR_HDB-1", ["/home/canbo/Desktop/eicar.com"], "active", "clamav"),
        ("Eicar-Signature", ["/home/canbo/eicar.txt"], "active", "clamav"),  # ExtendedDetectionInfo taken off
    ]
    assert found[0].detected_at == datetime(2024, 5, 18, 9, 2, 40, tzinfo=ICT)  # local clock, the PC's zone
    assert found[0].id == lx.parse_clamav_log(log, 420)[0].id  # the same line gives the same id in every report
    assert found[0].id != lx.parse_clamav_log(log, 0)[0].id  # another instant is another detection


def test_clamscan_log_moved_removed_failed_and_dated_by_its_summary() -> None:
    log = ("\n" + "-" * 79 + "\n\n"
           "/home/a/eicar_com.zip: Win.Test.EICAR_HDB-1 FOUND\n"
           "/home/a/eicar_com.zip: moved to '/var/lib/clamav/quarantine/eicar_com.zip'\n"
           "/home/a/x.exe: Win.Trojan.Agent-1234 FOUND\n"
           "ERROR: Can't move file /home/a/x.exe\n"
           "/home/a/y.doc: Doc.Dropper.Agent-6 FOUND\n"
           "/home/a/y.doc: Removed.\n"
           "/home/a/z.exe: Win.Trojan.Agent-9 FOUND\n"
           "ERROR: Can't remove file '/home/a/z.exe'.\n"
           "/home/a/w.exe: Win.Trojan.Agent-10 FOUND\n"
           "/home/a/w.exe: copied to '/srv/samples/w.exe'\n"
           "\n----------- SCAN SUMMARY -----------\nKnown viruses: 8693581\nInfected files: 5\n"
           "Start Date: 2024:05:19 02:00:01\nEnd Date:   2024:05:19 02:05:13\n"
           "\n" + "-" * 79 + "\n\n/home/a/still-scanning.exe: Win.Tool.Keygen-123 FOUND\n")
    found = {d.resources[0]: d for d in lx.parse_clamav_log(log, 420)}
    start, end = datetime(2024, 5, 19, 2, 0, 1, tzinfo=ICT), datetime(2024, 5, 19, 2, 5, 13, tzinfo=ICT)
    moved = found["/home/a/eicar_com.zip"]
    assert (moved.status, moved.action, moved.action_success, moved.detected_at, moved.remediated_at) == (
        "remediated", "quarantine", True, start, end)
    assert (found["/home/a/x.exe"].status, found["/home/a/x.exe"].action_success) == ("failed", False)
    assert (found["/home/a/y.doc"].status, found["/home/a/y.doc"].action) == ("remediated", "remove")
    assert (found["/home/a/z.exe"].status, found["/home/a/z.exe"].action) == ("failed", "remove")
    assert (found["/home/a/w.exe"].status, found["/home/a/w.exe"].action) == ("active", "copy")  # a copy stays
    # The scan still running has no time yet: it waits for its summary, so its id never changes once reported.
    assert "/home/a/still-scanning.exe" not in found


def test_journal_lines_paths_with_colons_and_lines_without_time() -> None:
    journal = ("2024-05-18T08:00:01+0700 pc systemd[1]: Started clamav-daemon.service - Clam AntiVirus.\n"
               "2024-05-20T10:15:30+0700 pc clamonacc[901]: /home/a/hoadon.pdf.exe: Win.Trojan.Emotet-9953 FOUND\n"
               "2024-05-20T10:16:00+0700 pc clamd[812]: ScanOnAccess: /home/a/b.exe: Win.Trojan.B-1 FOUND\n")
    found = lx.parse_clamav_log(journal)
    assert [(d.threat, d.detected_at) for d in found] == [
        ("Win.Trojan.Emotet-9953", datetime(2024, 5, 20, 3, 15, 30, tzinfo=timezone.utc)),
        ("Win.Trojan.B-1", datetime(2024, 5, 20, 3, 16, tzinfo=timezone.utc))]
    maildir = lx.parse_clamav_log("/home/a/Maildir/cur/17.M5P2.pc:2,S: Heuristics.Phishing.Email.SpoofedDomain FOUND\n"
                                  "not a detection: FOUND nothing\nOK line\n")
    assert [(d.resources, d.detected_at) for d in maildir] == [(["/home/a/Maildir/cur/17.M5P2.pc:2,S"], None)]


def test_clamd_conf_log_files() -> None:
    conf = "# LogFile /var/log/old.log\nExample\nLogFile /var/log/clamav/clamav.log\nLogTime yes\nLogFile relative\n"
    assert lx.parse_clamd_log_files(conf) == ["/var/log/clamav/clamav.log"]


def _clamav_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc/clamav").mkdir(parents=True)
    (root / "etc/clamav/clamd.conf").write_text("LogFile /var/log/clamd/clamd.log\nLogTime yes\n")
    (root / "var/log/clamd").mkdir(parents=True)
    (root / "var/log/clamd/clamd.log").write_text(
        "Sat May 18 09:02:40 2024 -> /home/canbo/Desktop/eicar.com: Win.Test.EICAR_HDB-1 FOUND\n")
    logs = root / "var/log/clamav"
    logs.mkdir(parents=True)
    (logs / "clamav.log").write_text("Sat May 18 08:00:01 2024 -> +++ Started at Sat May 18 08:00:01 2024\n")
    (logs / "clamav.log.1").write_text("Sat May 11 14:20:07 2024 -> /home/a/old.exe: Win.Trojan.Old-1 FOUND\n")
    with gzip.open(logs / "clamav.log.2.gz", "wt") as handle:
        handle.write("Sat May  4 10:00:00 2024 -> /home/a/older.exe: Win.Trojan.Older-1 FOUND\n")
    (root / "var/lib/clamav").mkdir(parents=True)  # an installed ClamAV: its database
    (root / "var/lib/clamav/daily.cld").write_bytes(
        b"ClamAV-VDB:18 May 2024 08-00 +0000:27277:2064012:90:abc:sig:raynman:1716019200" + b" " * 440)
    (logs / "freshclam.log").write_text("ClamAV update process started at Sat May 18 08:00:00 2024\n")
    (logs / "clamscan.log").write_text("x" * (3 << 20) + "\n/home/a/eicar.com: Win.Test.EICAR_HDB-1 FOUND\n"
                                       "Start Date: 2024:05:19 02:00:01\nEnd Date:   2024:05:19 02:00:09\n")
    return root


def test_live_source_finds_configured_debian_and_rotated_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-commands"))
    src = lx.LiveSource(root=_clamav_root(tmp_path))
    assert src.names("clamav/log/") == ["clamav/log/clamd.log", "clamav/log/clamav.log", "clamav/log/clamav.log.1",
                                        "clamav/log/clamav.log.2", "clamav/log/clamscan.log"]  # no freshclam.log
    index = json.loads(src.read_bytes("clamav/logs.json"))
    assert index["files"]["clamav.log.2"] == "/var/log/clamav/clamav.log.2.gz" and index["unreadable"] == {}
    assert isinstance(index["utc_offset_minutes"], int)
    assert b"Win.Trojan.Older-1" in src.read_bytes("clamav/log/clamav.log.2")  # decompressed
    tail = src.read_bytes("clamav/log/clamscan.log")
    assert len(tail) == 2 << 20 and tail.endswith(b"02:00:09\n")  # the newest 2 MiB only
    found = lx.detections(src, errors := Errors(), CLAMAV)
    assert found.readable is True and found.sources == ["clamav"]
    assert [d.threat for d in found.items] == [
        "Win.Test.EICAR_HDB-1", "Win.Test.EICAR_HDB-1", "Win.Trojan.Old-1", "Win.Trojan.Older-1"]
    assert [e for e in errors.items if e.collector == "detections"] == []  # journalctl missing: optional


def test_capture_saves_the_logs_and_replay_gives_the_same_detections(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-commands"))
    root = _clamav_root(tmp_path)
    monkeypatch.setattr(lx, "live_source", lambda timeout: lx.LiveSource(timeout, root=root))
    monkeypatch.setattr("agent.capture.current_platform", lambda: "linux")
    capture(tmp_path / "capture")
    saved = tmp_path / "capture/linux/clamav"
    assert {p.name for p in (saved / "log").iterdir()} == {
        "clamd.log", "clamav.log", "clamav.log.1", "clamav.log.2", "clamscan.log"}
    assert (saved / "logs.json").is_file() and (saved / "journal.error").is_file()
    live = lx.detections(lx.LiveSource(root=root), Errors(), CLAMAV)
    replayed = collect_report(replay=tmp_path / "capture")
    assert [p.name for p in replayed.antivirus] == ["ClamAV"]
    assert replayed.detections == live and len(live.items) == 4


def test_no_clamav_means_nothing_could_have_found_anything() -> None:
    found = lx.detections(lx.LiveSource(root=Path("/nonexistent")), Errors(), [])
    assert (found.readable, found.unreadable, found.items) == (False, [], [])


def test_clamav_whose_log_is_refused_is_unknown(tmp_path: Path) -> None:
    report = collect_report(replay=REPLAY / "linux-clamav-log-denied")
    assert report.detections is not None
    assert (report.detections.readable, report.detections.unreadable) == (False, ["ClamAV"])
    assert ("detections", "permission_denied") in {(e.collector, e.error) for e in report.errors}


def test_clamav_without_any_log_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-commands"))
    errors = Errors()
    found = lx.detections(lx.LiveSource(root=tmp_path), errors, CLAMAV)
    assert (found.readable, found.unreadable) == (False, ["ClamAV"])
    assert [(e.error, e.detail) for e in errors.items] == [
        ("not_found", "ClamAV writes no log here: set LogFile in clamd.conf")]


def test_a_journal_without_clamd_lines_proves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = tmp_path / "bin" / "journalctl"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\necho '2024-05-18T08:00:01+0700 pc systemd[1]: Started clamav-daemon.service.'\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tool.parent))
    found = lx.detections(lx.LiveSource(root=tmp_path / "empty"), Errors(), CLAMAV)
    assert found.readable is False
    tool.write_text("#!/bin/sh\necho '2024-05-20T10:15:30+0700 pc clamd[9]: /home/a/b.exe: Win.Trojan.B-1 FOUND'\n")
    found = lx.detections(lx.LiveSource(root=tmp_path / "empty"), Errors(), CLAMAV)
    assert found.readable is True and [d.threat for d in found.items] == ["Win.Trojan.B-1"]


def test_the_eicar_file_itself_is_what_clamav_names(tmp_path: Path) -> None:
    # The replayed office PC: clamd caught the EICAR test file twice a second apart and clamscan quarantined
    # its zipped copy; both are Win.Test.EICAR_HDB-1, ClamAV's name for the 68-byte string below.
    assert len(EICAR) == 68
    report = collect_report(replay=REPLAY / "linux-clamav-detections")
    assert report.detections is not None and report.detections.readable is True
    eicar = [d for d in report.detections.items if d.threat == "Win.Test.EICAR_HDB-1"]
    assert [(d.resources[0], d.status) for d in eicar] == [
        ("/home/canbo/Downloads/eicar_com.zip", "remediated"), ("/home/canbo/Desktop/eicar.com", "active"),
        ("/home/canbo/Desktop/eicar.com", "active")]
    assert len({d.id for d in report.detections.items}) == len(report.detections.items) == 7


@given(st.text(max_size=400), st.integers(-(2**20), 2**20))
@settings(max_examples=200, deadline=None)
def test_any_log_text_parses_without_raising(text: str, offset: int) -> None:
    for line in (text, f"Sat May 18 09:02:40 2024 -> {text}: x FOUND", f"{text}: {text} FOUND\n{text}: Removed."):
        for detection in lx.parse_clamav_log(line, max(-1439, min(1439, offset))):
            assert detection.source == "clamav"


def test_move_directories_from_units_and_cron() -> None:
    unit = ("[Service]\nExecStart=/usr/sbin/clamonacc -F --fdpass --log=/var/log/clamav/clamonacc.log "
            "--move=/root/quarantine\n")
    cron = "0 2 * * * root clamscan -r -i --move '/srv/quarantine' --log=/var/log/clamav/clamscan.log /home\n"
    assert lx.parse_move_dirs(unit) == ["/root/quarantine"]
    assert lx.parse_move_dirs(cron) == ["/srv/quarantine"]
    assert lx.parse_move_dirs("clamscan --move=relative/dir\n") == []


def test_a_file_moved_after_its_detection_is_quarantined_and_an_older_namesake_is_not() -> None:
    log = ("Sat May 18 08:45:02 2024 -> /home/a/crack.zip: Win.Tool.Keygen-123 FOUND\n"
           "Sat May 18 09:00:00 2024 -> /home/b/setup.exe: Win.Trojan.Agent-1 FOUND\n"
           "Sat May 18 09:10:00 2024 -> /home/c/setup.exe: Win.Trojan.Agent-1 FOUND\n")
    items = lx.parse_clamav_log(log, 420)
    moved_at = datetime(2024, 5, 18, 8, 45, 3, tzinfo=ICT).timestamp()
    listing = {"dirs": {"/root/quarantine": [
        {"name": "crack.zip", "moved": moved_at},
        {"name": "setup.exe.001", "moved": datetime(2024, 5, 18, 9, 10, 1, tzinfo=ICT).timestamp()},
        {"name": "old.exe", "moved": moved_at}, "garbage", {"name": 5, "moved": "x"}]}}
    found = {(d.resources[0]): d for d in lx.with_quarantine(items, listing)}
    crack = found["/home/a/crack.zip"]
    assert (crack.status, crack.action, crack.action_success) == ("remediated", "quarantine", True)
    assert crack.remediated_at == datetime(2024, 5, 18, 8, 45, 3, tzinfo=ICT)
    # One quarantined setup.exe (renamed .001 on collision) vouches for the latest detection of that name only.
    assert (found["/home/c/setup.exe"].status, found["/home/b/setup.exe"].status) == ("remediated", "active")
    assert lx.with_quarantine(items, {"dirs": "nonsense"}) == items


def test_live_quarantine_listing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    unit = root / "lib/systemd/system/clamav-clamonacc.service"
    unit.parent.mkdir(parents=True)
    unit.write_text("ExecStart=/usr/sbin/clamonacc -F --move=/root/quarantine\n")
    (root / "etc/cron.d").mkdir(parents=True)
    (root / "etc/cron.d/clamscan").write_text("0 2 * * * root clamscan --move=/srv/q /home\n")
    (root / "root/quarantine").mkdir(parents=True)
    (root / "root/quarantine/eicar.com").write_text(EICAR)
    listing = json.loads(lx.LiveSource(root=root).read_bytes("clamav/quarantine.json"))
    assert list(listing["dirs"]) == ["/root/quarantine", "/srv/q"] and listing["unreadable"] == {}
    assert [e["name"] for e in listing["dirs"]["/root/quarantine"]] == ["eicar.com"]
    assert listing["dirs"]["/srv/q"] == []  # not created yet: nothing moved there
    with pytest.raises(lx.ProbeError):
        lx.LiveSource(root=tmp_path / "none").read_bytes("clamav/quarantine.json")
