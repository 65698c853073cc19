"""``kiemke-server apitoken create|list|revoke``: the command-line twin of the console's API tokens page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server.cli import main
from server.config import Settings
from server.console.auth import create_user
from server.main import create_app
from tests.server.commands.test_commands import cli_env  # noqa: F401 - fixture

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


def test_create_list_use_and_revoke(cli_env: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                    app: TestClient, engine: Engine) -> None:
    create_user(engine, "lan", PASSWORD, "admin", None, actor="test")
    assert main(["apitoken", "create", "--user", "lan", "--name", "dashboard"]) == 0
    printed = capsys.readouterr()
    secret = printed.out.strip()  # the token alone on stdout: TOKEN=$(kiemke-server apitoken create ...)
    assert secret.startswith("kkr_") and "not shown again" in printed.err
    created = _json(capsys, ["apitoken", "create", "--user", "lan", "--name", "backup", "--days", "1"])
    assert str(created["token"]).startswith("kkr_") and created["user"] == "lan"

    assert app.get("/api/v1/figures", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    listing = _json(capsys, ["apitoken", "list", "--user", "lan"])
    assert listing["count"] == 2
    rows = {row["name"]: row for row in listing["data"]}  # type: ignore[attr-defined]
    assert rows["dashboard"]["state"] == "active" and rows["dashboard"]["last_used_at"] is not None
    assert rows["backup"]["last_used_at"] is None
    assert secret not in json.dumps(listing)  # never the secret, nor anything it could be rebuilt from

    revoked = _json(capsys, ["apitoken", "revoke", str(rows["dashboard"]["id"])])
    assert revoked["revoked"] is True and revoked["already_revoked"] is False
    assert _json(capsys, ["apitoken", "revoke", str(rows["dashboard"]["id"])])["already_revoked"] is True
    assert app.get("/api/v1/figures", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert main(["apitoken", "list"]) == 0
    assert "revoked" in capsys.readouterr().out


def test_refusals_say_why(cli_env: Path, capsys: pytest.CaptureFixture[str], engine: Engine) -> None:  # noqa: F811
    assert main(["apitoken", "create", "--user", "nobody", "--name", "x"]) == 2
    assert "no user named" in capsys.readouterr().err
    create_user(engine, "lan", PASSWORD, "viewer", None, actor="test")
    assert main(["apitoken", "create", "--user", "lan", "--name", "x", "--days", "0"]) == 2
    assert "1 to 366 days" in capsys.readouterr().err
    assert main(["apitoken", "revoke", "999"]) == 2
    assert "no API token 999" in capsys.readouterr().err
