"""Revocation from the command line: tokens listed and revoked, users disabled, enabled and given a new password;
and what the server's tables print: no escape sequence from the data reaches the terminal."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from server.cli import main
from server.config import Settings
from server.db import reading, writing
from server.main import create_app
from server.models import AuditLog, OrgUnit, utcnow
from server.services.records import save_unit
from server.services.users import create_user
from shared.protocol import ENROLL_PATH
from tests.server.commands.test_commands import cli_env  # noqa: F401 - fixture
from tests.server.console.conftest import csrf_of

PASSWORD = "a-long-password-1"


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The server on the commands' database."""
    application = create_app(Settings(environment="test", data_dir=tmp_path, database_url=database_url))
    with TestClient(application) as client:
        yield client
    application.state.engine.dispose()


def _json(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 0) -> dict[str, object]:
    assert main([*argv, "--json"]) == code
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def _units(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    (cli_env / "u.csv").write_text("code,name,kind,parent\nPH,UBND,district,\nXA,Xã,commune,PH\n", encoding="utf-8")
    assert main(["units", "import", str(cli_env / "u.csv")]) == 0
    capsys.readouterr()


def _actions(engine: Engine) -> list[str]:
    with reading(engine) as session:
        return [log.action for log in session.exec(select(AuditLog))]


def test_token_list_and_revoke_then_enrolment_is_403(cli_env: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                                      app: TestClient, engine: Engine) -> None:
    _units(cli_env, capsys)
    first = _json(capsys, ["token", "create", "--unit", "PH", "--max-uses", "2"])
    second = _json(capsys, ["token", "create", "--unit", "XA"])
    listing = _json(capsys, ["token", "list"])
    assert listing["count"] == 2
    rows = {row["id"]: row for row in listing["data"]}  # type: ignore[attr-defined]
    assert rows[first["id"]]["state"] == "active" and rows[first["id"]]["max_uses"] == 2
    assert str(first["token"]) not in json.dumps(listing)  # only a fingerprint of the hash is shown
    only_xa = _json(capsys, ["token", "list", "--unit", "XA"])
    assert [row["id"] for row in only_xa["data"]] == [second["id"]]  # type: ignore[attr-defined]

    fingerprint = str(rows[first["id"]]["fingerprint"])
    revoked = _json(capsys, ["token", "revoke", fingerprint[:8]])
    assert revoked == {"id": first["id"], "fingerprint": fingerprint, "revoked": True, "already_revoked": False}
    enrol = app.post(ENROLL_PATH, json={"token": first["token"], "machine_id": "m-1", "hostname": "pc-1"})
    assert enrol.status_code == 403 and "revoked" in enrol.json()["detail"]
    assert app.post(ENROLL_PATH, json={"token": second["token"], "machine_id": "m-2"}).status_code == 201

    assert main(["token", "revoke", str(second["token"])]) == 0  # the token itself works too
    assert "revoked" in capsys.readouterr().out
    assert _json(capsys, ["token", "revoke", str(second["id"])])["already_revoked"] is True
    assert main(["token", "revoke", "nothing-like-it"]) == 2
    assert "no enrolment token" in capsys.readouterr().err
    states = {row["id"]: row["state"] for row in _json(capsys, ["token", "list"])["data"]}  # type: ignore[attr-defined]
    assert states == {first["id"]: "revoked", second["id"]: "revoked"}
    assert _actions(engine).count("token.revoke") == 2  # the second revoke of one token is not a new event
    assert main(["token", "list"]) == 0
    assert "2 enrolment tokens" in capsys.readouterr().out


@pytest.mark.parametrize("days", ["0", "-3"])
def test_token_days_zero_or_negative_is_refused(cli_env: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                                days: str) -> None:
    _units(cli_env, capsys)
    assert main(["token", "create", "--unit", "PH", "--days", days]) == 2
    assert f"--days must be 1 or more, not {days}" in capsys.readouterr().err
    assert _json(capsys, ["token", "list"])["count"] == 0


def _sign_in(app: TestClient) -> int:
    form = app.get("/login")
    response = app.post("/login", data={"username": "lan", "password": PASSWORD, "csrf": csrf_of(form.text),
                                        "next": "/"}, follow_redirects=False)
    return int(response.status_code)


def test_user_disable_enable_and_passwd(cli_env: Path, capsys: pytest.CaptureFixture[str], engine: Engine,  # noqa: F811
                                        app: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    create_user(engine, "lan", PASSWORD, "admin", None, actor="test")
    assert _sign_in(app) == 303 and app.get("/", follow_redirects=False).status_code == 200

    assert _json(capsys, ["user", "disable", "lan"]) == {"username": "lan", "disabled": True, "changed": True}
    assert app.get("/", follow_redirects=False).status_code == 303  # the open session is refused at once
    assert _sign_in(app) == 401
    assert "user.disable" in _actions(engine)
    assert main(["user", "disable", "nobody"]) == 2 and "no user named" in capsys.readouterr().err
    assert main(["user", "enable", "lan"]) == 0 and "enabled" in capsys.readouterr().out
    assert _sign_in(app) == 303 and app.get("/", follow_redirects=False).status_code == 200

    new_password = "another-long-password-2"
    monkeypatch.setattr("sys.stdin", io.StringIO(new_password + "\n"))
    assert main(["user", "passwd", "lan", "--password-stdin"]) == 0
    out = capsys.readouterr()
    assert new_password not in out.out + out.err and "changed" in out.out
    assert app.get("/", follow_redirects=False).status_code == 303  # sessions of the old password end
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "passwd", "lan", "--password-stdin"]) == 2
    assert "at least" in capsys.readouterr().err
    listing = _json(capsys, ["user", "list"])
    assert listing["data"][0]["disabled"] is False  # type: ignore[index]


def test_tables_never_print_escape_sequences(cli_env: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                             engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # no wrapping inside the name
    with writing(engine) as session:  # as a unit name could have arrived before text was cleaned on import
        save_unit(session, OrgUnit(code="X\x1b]0;pwned\x07", name="\x1b[2J\x1b[31mXã đỏ\x9b", kind="commune"),
                  utcnow())
    assert main(["units", "list"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "Xã đỏ" in out
