"""An air-gapped PC end to end, as real processes: offline enrolment file from the server, reports spooled
on the PC, a signed bundle carried on a "USB stick", imported on the server, counted as air-gapped."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest

from shared.bundle import public_key_of, verify_bundle

from .realprocs import Agent, RealServer, report_id_of

pytestmark = pytest.mark.slow


def test_export_import_and_figures_show_the_pc_as_air_gapped(tmp_path: Path, agent: Agent) -> None:
    server = RealServer(tmp_path)  # no network involved: the server is only its database and commands
    server.add_unit("XA", "Xã A")
    enrolment = tmp_path / "stick" / "may-mat-01.json"
    enrolment.parent.mkdir()
    made = server.cli("enrol-offline", "--unit", "XA", "--name", "May-mat-01", "--out", str(enrolment))
    assert made.returncode == 0, made.stderr

    done = agent.run("enroll", "--offline", str(enrolment))
    assert done.returncode == 0 and "air" not in done.stderr, done.stderr
    assert "delete" in done.stdout  # the file carries the signing key: the officer is told to remove it
    spooled = []
    for _ in range(2):
        done = agent.run("report")
        assert done.returncode == 0 and "saved in the spool for export" in done.stdout
        spooled.append(report_id_of(done.stdout))
    assert agent.status()["offline"] is True

    usb = tmp_path / "usb"
    done = agent.run("export", "--out", str(usb))
    assert done.returncode == 0, done.stderr
    (bundle_path,) = usb.glob("*.json")
    assert agent.queued() == []  # exported reports leave the spool
    bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
    private = json.loads(enrolment.read_text(encoding="utf-8"))["private_key"]
    reports = verify_bundle(bundle, public_key_of(private))
    ids = [uuid.UUID(r["report_id"]) for r in reports]
    assert ids[:2] == spooled and len(ids) == 3  # the export adds a fresh collection

    # A bundle altered on the way is refused as a whole.
    tampered = tmp_path / "tampered" / bundle_path.name
    tampered.parent.mkdir()
    bundle["reports"][0]["hostname"] = "someone-else"
    tampered.write_text(json.dumps(bundle), encoding="utf-8")
    refused = server.cli("import", str(tampered))
    assert refused.returncode == 1 and "3 refused" in refused.stdout

    imported = server.cli("import", str(bundle_path))
    assert imported.returncode == 0 and "3 imported" in imported.stdout, imported.stdout + imported.stderr
    again = server.cli("import", str(bundle_path))
    assert again.returncode == 0 and "3 already had" in again.stdout

    with sqlite3.connect(server.db_path) as conn:
        rows = conn.execute("SELECT report_id, via, signed FROM received_report").fetchall()
        air_gapped = conn.execute("SELECT air_gapped FROM device WHERE name = 'May-mat-01'").fetchall()
    assert sorted(uuid.UUID(str(r[0])) for r in rows) == sorted(ids)
    assert {(r[1], r[2]) for r in rows} == {("import", 1)}
    assert air_gapped == [(1,)]

    report = server.cli("report", "--format", "json")
    assert report.returncode == 0, report.stderr
    figures = json.loads(report.stdout)["figures"]
    assert figures["computers_air_gapped"]["numerator"] == 1
    # Air-gapped is never "not connected": it is left out of the internet figure's denominator.
    assert figures["computers_internet_connected"]["denominator"] == 0
    assert figures["computers_internet_connected"]["detail"] == {"air_gapped": 1}


def test_export_needs_a_signing_key(agent: Agent, tmp_path: Path) -> None:
    done = agent.run("export", "--out", str(tmp_path / "usb"))
    assert done.returncode == 1 and "enrol" in done.stderr
