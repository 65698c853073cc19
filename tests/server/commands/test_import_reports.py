"""``kiemke-server import``: signed bundles verify, tampered ones are refused, plain files need --unit."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import select

from server.cli import main
from server.db import reading
from server.models import AuditLog, Device, ReceivedReport
from server.services.history import snapshot
from shared.bundle import OfflineEnrolment, make_bundle
from tests.server.factories import ENROLLED_AT, T0, make_report, make_unit


@pytest.fixture
def cli_db(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Engine:
    """The test database as the one ``kiemke-server`` commands use, with a unit PH."""
    monkeypatch.setenv("KIEMKE_DATABASE_URL", database_url)
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    make_unit(engine, "PH")
    return engine


def _enrol_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> OfflineEnrolment:
    out = tmp_path / "enrol.json"
    with time_machine.travel(ENROLLED_AT, tick=False):  # before T0: bundles collected from T0 on are believed
        code = main(["enrol-offline", "--unit", "PH", "--name", "Máy mật 1", "--out", str(out), "--json"])
    assert code == 0
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


def test_hostile_files_are_one_line_each_and_the_good_one_is_imported(
    cli_db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 1,000-deep document, a date UTC cannot hold and NUL bytes: per-file answers, no traceback."""
    (tmp_path / "a-deep.json").write_text("[" * 1000 + "]" * 1000)
    overflow = json.loads(make_report("pc-1").model_dump_json())
    overflow["collected_at"] = "0001-01-01T00:00:00+05:00"
    (tmp_path / "b-overflow.json").write_text(json.dumps(overflow))
    (tmp_path / "c-missing.json").symlink_to(tmp_path / "nowhere.json")
    good = json.loads(make_report("pc-2").model_dump_json())
    good["hostname"] = "ke\u0000toan"
    (tmp_path / "d-good.json").write_text(json.dumps(good))
    assert main(["import", "--unit", "PH", str(tmp_path), "--json"]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    files = {Path(f["file"]).name: f for f in json.loads(captured.out)["files"]}
    assert files["a-deep.json"]["refused"] == 1 and "nested deeper" in files["a-deep.json"]["problems"][0]
    assert "out of range" in files["b-overflow.json"]["problems"][0]
    assert files["c-missing.json"]["refused"] == 1
    assert files["d-good.json"]["imported"] == 1
    with reading(cli_db) as session:
        assert session.exec(select(Device)).one().hostname == "ketoan"


def test_unforeseen_failure_of_one_file_is_one_line(
    cli_db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import server.services.report_files as report_files

    real = report_files.import_file

    def flaky(engine: Engine, path: Path, **kw: object) -> object:
        if path.name == "a.json":
            raise OSError("device not ready")  # a USB stick pulled out mid-read
        return real(engine, path, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(report_files, "import_file", flaky)
    for name, machine in (("a.json", "pc-1"), ("b.json", "pc-2")):
        (tmp_path / name).write_text(make_report(machine).model_dump_json())
    assert main(["import", "--unit", "PH", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert "a.json: 0 imported, 0 already had, 1 refused" in captured.out
    assert "OSError: device not ready" in captured.out
    assert "b.json: 1 imported" in captured.out


def test_a_bundle_writes_only_its_agents_device(cli_db: Engine, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A bundle is signed by one agent's key: a report of another machine in it is refused."""
    other = make_report("pc-other", collected_at=T0)
    (tmp_path / "other.json").write_text(other.model_dump_json())
    assert main(["import", "--unit", "PH", str(tmp_path / "other.json")]) == 0
    capsys.readouterr()
    enrolment = _enrol_offline(tmp_path, capsys)
    reports = [make_report("airgap-1", collected_at=T0).model_dump(mode="json"),
               make_report("pc-other", hostname="owned", collected_at=T0 + timedelta(days=1)).model_dump(mode="json"),
               make_report("invented", serial="NEW-1", collected_at=T0 + timedelta(days=2)).model_dump(mode="json")]
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(make_bundle(enrolment.agent_id, reports, enrolment.private_key)))
    assert main(["import", str(bundle), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert (result["imported"], result["refused"]) == (1, 2)
    problems = result["files"][0]["problems"]
    assert "'pc-other' is another device" in problems[0] and "belongs to machine 'airgap-1'" in problems[1]
    with reading(cli_db) as session:
        devices = {d.machine_id: d for d in session.exec(select(Device))}
    assert set(devices) == {"pc-other", "airgap-1"}
    assert devices["pc-other"].hostname == "pc-1" and devices["airgap-1"].air_gapped
