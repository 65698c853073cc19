"""``kiemke-server detections list``: the scope's detections, filters, the table and its ``--json`` twin."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from server.cli import main
from server.services.ingest import Delivery, receive
from tests.server.factories import T0, make_unit
from tests.server.services.test_detections import report, threat

pytestmark = pytest.mark.dates


def test_detections_list(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KIEMKE_DATABASE_URL", database_url)
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    make_unit(engine, "UBND")
    commune = make_unit(engine, "XA-01", kind="commune", parent="UBND")
    school = make_unit(engine, "TH-01", kind="school", parent="UBND")
    now = T0 + timedelta(days=30)
    for rep, unit in (
        (report(T0, threat("a1"), threat("a2", "remediated", severity="low")), commune),
        (report(T0, threat("b1", "failed", action="remove"), machine="m-2", serial="S-2"), school),
        (report(T0 + timedelta(days=5), threat("a1", "remediated"), threat("a2", "remediated", severity="low")),
         commune),
    ):
        assert receive(engine, rep, lambda _c, u=unit: Delivery(unit_id=u), now=now).status == "accepted"

    assert main(["detections", "list", "--as-of", "2024-05-01", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 3
    assert [(d["unit"], d["status"]) for d in out["data"]] == [
        ("TH-01", "failed"), ("XA-01", "active"), ("XA-01", "remediated")]  # open first, newest first
    first = out["data"][1]
    assert first["threat"] == "Trojan:Win32/Wacatac.B!ml" and first["device"] == "pc-1"
    assert first["resources"] == [r"file:_C:\Users\ketoan\Downloads\hoadon.exe"]
    assert [h["status"] for h in first["history"]] == ["active"]
    unremediated = out["figures"]["detections_unremediated"]
    assert (unremediated["numerator"], unremediated["denominator"]) == (2, 3)

    assert main(["detections", "list", "--as-of", "2024-05-10", "--unit", "XA-01", "--status", "unremediated",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 0
    assert main(["detections", "list", "--as-of", "2024-05-10", "--since", "2024-05-03", "--json"]) == 0
    later = json.loads(capsys.readouterr().out)["data"]
    assert [(d["id"], [h["status"] for h in d["history"]]) for d in later] == [(1, ["active", "remediated"])]

    assert main(["detections", "list", "--as-of", "2024-05-10", "--severity", "low"]) == 0
    table = capsys.readouterr().out
    assert "1 detections as of the end of 2024-05-10" in table and "│ low " in table

    assert main(["detections", "list", "--unit", "NOPE"]) == 2
    assert "NOPE" in capsys.readouterr().err
    assert main(["detections", "list", "--as-of", "2024-05-01", "--since", "2024-06-01"]) == 2
    assert "must lie between 2000-01-01 and the cut-off date 2024-05-01" in capsys.readouterr().err
    for bad in (["--since", "0001-01-01"], ["--as-of", "0001-01-01"]):  # refused by the argument's own check
        with pytest.raises(SystemExit) as exited:
            main(["detections", "list", *bad])
        assert exited.value.code == 2 and "is outside 2000-01-01..9999-12-30" in capsys.readouterr().err


def test_a_signed_bundle_carries_detections_once(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An air-gapped PC's bundle, imported twice: its detection is stored once, with its two statuses."""
    import time_machine

    from server.db import reading
    from server.services.detections import detection_entries
    from server.services.history import end_of_day, snapshot
    from shared.bundle import OfflineEnrolment, make_bundle
    from tests.server.factories import ENROLLED_AT

    monkeypatch.setenv("KIEMKE_DATABASE_URL", database_url)
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    make_unit(engine, "PH")
    out = tmp_path / "enrol.json"
    with time_machine.travel(ENROLLED_AT, tick=False):
        assert main(["enrol-offline", "--unit", "PH", "--name", "Máy mật", "--out", str(out)]) == 0
    enrolment = OfflineEnrolment.model_validate_json(out.read_text())
    reports = [report(T0, threat("X")), report(T0 + timedelta(days=1), threat("X", "remediated"), hostname="m2")]
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(make_bundle(enrolment.agent_id, [r.model_dump(mode="json") for r in reports],
                                             enrolment.private_key)))
    for _ in range(2):
        assert main(["import", str(bundle)]) == 0
    capsys.readouterr()
    with reading(engine) as session:
        snap = snapshot(session, T0.date() + timedelta(days=2))
        [entry] = detection_entries(session, snap, [d.id for d in snap.devices], end_of_day(snap.as_of))
    assert entry.status == "remediated" and [c.status for c in entry.history] == ["active", "remediated"]
