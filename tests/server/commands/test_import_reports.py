"""``kiemke-server import``: signed bundles verify, tampered ones are refused, plain files need --unit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from server.cli import main
from server.db import reading
from server.models import AuditLog, Device, ReceivedReport
from server.services.history import snapshot
from shared.bundle import OfflineEnrolment, make_bundle
from tests.server.factories import T0, make_report, make_unit


@pytest.fixture
def cli_db(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Engine:
    """The test database as the one ``kiemke-server`` commands use, with a unit PH."""
    monkeypatch.setenv("KIEMKE_DATABASE_URL", database_url)
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    make_unit(engine, "PH")
    return engine


def _enrol_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> OfflineEnrolment:
    out = tmp_path / "enrol.json"
    assert main(["enrol-offline", "--unit", "PH", "--name", "Máy mật 1", "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["device_name"] == "Máy mật 1"
    assert out.stat().st_mode & 0o077 == 0
    return OfflineEnrolment.model_validate_json(out.read_text())


def test_signed_bundle_imports_once_and_counts_air_gapped(
    cli_db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    enrolment = _enrol_offline(tmp_path, capsys)
    reports = [make_report("airgap-1", reachable=False, collected_at=T0).model_dump(mode="json")]
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(make_bundle(enrolment.agent_id, reports, enrolment.private_key)))
    assert main(["import", str(bundle), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["imported"] == 1
    assert main(["import", str(bundle)]) == 0
    assert "0 imported, 1 already had" in capsys.readouterr().out
    with reading(cli_db) as session:
        [device] = session.exec(select(Device)).all()
        received = session.exec(select(ReceivedReport)).one()
        actions = [a.action for a in session.exec(select(AuditLog))]
        state = snapshot(session, T0.date()).devices[0]
    assert device.air_gapped and device.name == "Máy mật 1" and device.reports_received == 1
    assert received.via == "import" and received.signed and received.imported_by
    assert actions.count("reports.import") == 2 and "agent.enrol_offline" in actions
    assert state.delivered_offline and state.air_gapped


def test_tampered_bundle_is_refused(cli_db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    enrolment = _enrol_offline(tmp_path, capsys)
    payload = make_bundle(enrolment.agent_id, [make_report("airgap-1").model_dump(mode="json")],
                          enrolment.private_key)
    payload["reports"][0]["network"]["internet"]["reachable"] = False  # hide a violation
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(payload))
    assert main(["import", str(bundle)]) == 1
    out = capsys.readouterr().out
    assert "does not verify" in out and "1 refused" in out
    with reading(cli_db) as session:
        assert session.exec(select(ReceivedReport)).all() == []


def test_unsigned_file_needs_unit(cli_db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "report.json"
    plain.write_text(make_report("pc-77").model_dump_json())
    assert main(["import", str(plain)]) == 1
    assert "--unit" in capsys.readouterr().out
    assert main(["import", "--unit", "PH", str(tmp_path), "--json"]) == 0  # a directory of files
    result = json.loads(capsys.readouterr().out)
    assert result["imported"] == 1 and result["files"][0]["signed"] is False
    with reading(cli_db) as session:
        received = session.exec(select(ReceivedReport)).one()
    assert received.signed is False and received.via == "import"


def test_broken_files_are_refused_with_reasons(
    cli_db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.json").write_text("{oops")
    (tmp_path / "b.json").write_text(json.dumps({"machine_id": "x", "collected_at": "2024-01-01T00:00:00Z",
                                                 "schema_version": 42}))
    (tmp_path / "c.json").write_text(json.dumps({"format": "kiemke-bundle", "version": 1, "agent_id": "nope"}))
    assert main(["import", "--unit", "PH", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "cannot read a JSON document" in out and "schema_version 42" in out and "agent_id" in out
