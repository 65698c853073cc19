"""``kiemke-server user create`` and ``user list``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from server.cli import main
from server.console.auth import check_login
from server.db import make_engine


@pytest.fixture
def env(seeded_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("KIEMKE_DATABASE_URL", seeded_db)
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    return seeded_db


def _create(monkeypatch: pytest.MonkeyPatch, password: str, *argv: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["user", "create", "--password-stdin", *argv])


def test_create_then_list(env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert _create(monkeypatch, "school-password", "--username", "hieutruong", "--role", "viewer",
                   "--unit", "TH01") == 0
    assert "TH01" in capsys.readouterr().out
    engine = make_engine(env)
    assert check_login(engine, "hieutruong", "school-password") is not None
    assert check_login(engine, "hieutruong", "wrong-password") is None
    engine.dispose()
    assert main(["user", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    row = next(u for u in listed["data"] if u["username"] == "hieutruong")
    assert row == {**row, "role": "viewer", "unit": "TH01", "disabled": False}
    assert all("password" not in key for key in row)


@pytest.mark.parametrize(("password", "argv", "reason"), [
    ("short", ["--username", "a1", "--role", "admin"], "at least"),
    ("long enough pw", ["--username", "admin", "--role", "admin"], "already exists"),
    ("long enough pw", ["--username", "b1", "--role", "viewer", "--unit", "NOPE"], "unknown unit"),
    ("long enough pw", ["--username", "with space", "--role", "viewer"], "without spaces"),
])
def test_refusals(env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                  password: str, argv: list[str], reason: str) -> None:
    assert _create(monkeypatch, password, *argv) == 2
    assert reason in capsys.readouterr().err
