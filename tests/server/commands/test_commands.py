"""The other sub-commands: db upgrade, token create, units/assets/licences import and list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from server.cli import main
from server.db import head_revision
from server.demo import district


@pytest.fixture
def cli_env(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("KIEMKE_DATABASE_URL", database_url)
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    return tmp_path


def test_demo_spreadsheets_import_and_list(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheets = district.write_spreadsheets(cli_env / "sheets")
    assert main(["units", "import", str(sheets["units"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["created"] == 91
    assert main(["assets", "import", str(sheets["assets"])]) == 0
    assert "created" in capsys.readouterr().out
    assert main(["licences", "import", str(sheets["licences"])]) == 0
    assert main(["units", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert listing["count"] == 91
    assert main(["units", "list"]) == 0
    assert "91 units" in capsys.readouterr().out


def test_token_create_prints_only_the_token(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cli_env / "u.csv").write_text("code,name,kind\nPH,UBND,district\n", encoding="utf-8")
    assert main(["units", "import", str(cli_env / "u.csv")]) == 0
    capsys.readouterr()
    assert main(["token", "create", "--unit", "PH", "--days", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().startswith("kket_") and "\n" not in captured.out.strip()
    assert "valid until" in captured.err
    assert main(["token", "create", "--unit", "NOPE"]) == 2
    assert "unknown unit" in capsys.readouterr().err


def test_db_upgrade(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["to"] == head_revision()


def test_bad_rows_exit_nonzero(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cli_env / "u.csv").write_text("code,name,kind\nPH,UBND,district\nX,,commune\n", encoding="utf-8")
    assert main(["units", "import", str(cli_env / "u.csv")]) == 1
    assert "row 3: name: missing" in capsys.readouterr().out


def test_tables_print_names_as_text(cli_env: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit name holding rich markup (from a spreadsheet) is printed as typed, not read as styling."""
    monkeypatch.setenv("COLUMNS", "200")  # no wrapping inside the name
    (cli_env / "u.csv").write_text("code,name,kind\nPH,[bold]UBND[/bold] huyện,district\n", encoding="utf-8")
    assert main(["units", "import", str(cli_env / "u.csv")]) == 0
    capsys.readouterr()
    assert main(["units", "list"]) == 0
    assert "[bold]UBND[/bold]" in capsys.readouterr().out
