"""``kiemke-server alerts list|ack|evaluate|digest`` and ``user contact``: the alerts from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import select

from server.cli import main
from server.console.auth import create_user
from server.db import reading
from server.models import AuditLog
from tests.server.alerts.smtp import smtp_server
from tests.server.alerts.world import NOW, build_district, report, send

pytestmark = pytest.mark.dates
OFF = {"name": "Windows Defender", "enabled": False, "source": "security_center"}


@pytest.fixture
def frozen() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def cli_db(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Engine:
    """The alert tests' district as the commands' database."""
    monkeypatch.setenv("KIEMKE_DATABASE_URL", database_url)
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    return build_district(engine)


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_evaluate_list_and_acknowledge(cli_db: Engine, capsys: pytest.CaptureFixture[str],
                                       frozen: time_machine.Coordinates) -> None:
    send(cli_db, "XA1", report("pc-1", antivirus=[OFF]))
    send(cli_db, "XA2", report("pc-2", at=NOW + timedelta(days=3)))  # clock ahead
    assert main(["alerts", "evaluate", "--json"]) == 0
    assert _json(capsys)["opened"] == 2
    assert main(["alerts", "evaluate", "--json"]) == 0
    assert _json(capsys)["opened"] == 0  # nothing twice
    assert main(["alerts", "list", "--unit", "XA1", "--json"]) == 0
    listed = _json(capsys)
    assert listed["count"] == 1
    [alert] = listed["data"]  # type: ignore[misc]
    assert (alert["rule"], alert["state"], alert["unit"], alert["device"]) == ("antivirus_disabled", "open", "XA1",
                                                                                "pc-1")
    assert main(["alerts", "ack", str(alert["id"]), "--comment", "bật lại Defender", "--json"]) == 0
    acked = _json(capsys)
    assert (acked["state"], acked["comment"]) == ("acknowledged", "bật lại Defender")
    assert main(["alerts", "list", "--state", "acknowledged", "--json"]) == 0
    assert [a["id"] for a in _json(capsys)["data"]] == [alert["id"]]  # type: ignore[attr-defined]
    assert main(["alerts", "list", "--rule", "clock_wrong"]) == 0
    assert "clock_wrong" in capsys.readouterr().out
    with reading(cli_db) as session:
        [entry] = session.exec(select(AuditLog).where(AuditLog.action == "alert.acknowledge")).all()
    assert json.loads(entry.detail)["comment"] == "bật lại Defender"
    assert main(["alerts", "list", "--unit", "NOPE"]) == 2
    assert main(["alerts", "ack", "99999"]) == 2
    assert "no alert 99999" in capsys.readouterr().err


def test_digest_now_and_user_contact(cli_db: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch, frozen: time_machine.Coordinates) -> None:
    create_user(cli_db, "can-bo", "mat-khau-dai-12345", "officer", "XA1", actor="test")
    assert main(["user", "contact", "can-bo", "--email", "not an address"]) == 2
    assert main(["user", "contact", "can-bo", "--email", "canbo@ubnd.example.vn", "--lang", "en", "--json"]) == 0
    assert _json(capsys) == {"username": "can-bo", "email": "canbo@ubnd.example.vn", "lang": "en"}
    assert main(["alerts", "digest"]) == 2  # no SMTP server configured
    frozen.move_to(NOW + timedelta(minutes=1))
    send(cli_db, "XA1", report("pc-1", at=NOW, antivirus=[OFF]))
    assert main(["alerts", "evaluate"]) == 0
    with smtp_server(tmp_path / "mail") as server:
        monkeypatch.setenv("KIEMKE_SMTP_HOST", server.host)
        monkeypatch.setenv("KIEMKE_SMTP_PORT", str(server.port))
        monkeypatch.setenv("KIEMKE_SMTP_CA_FILE", str(server.ca))
        monkeypatch.setenv("KIEMKE_SMTP_FROM", "kiemke@ubnd.example.vn")
        frozen.move_to(NOW + timedelta(minutes=5))
        capsys.readouterr()
        assert main(["alerts", "digest", "--json"]) == 0
        assert _json(capsys)["sent"] == [{"username": "can-bo", "alerts": 1}]
        [message] = server.mailbox.to("canbo@ubnd.example.vn")
        assert message["Subject"] == "[kiemke] 1 new alerts (Xã Một)"
