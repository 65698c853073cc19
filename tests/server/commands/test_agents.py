"""``kiemke-server agents list`` and ``agents revoke``: what is enrolled, and taking a key back (audited)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from server.cli import main
from server.db import reading
from server.models import AuditLog
from shared.protocol import REPORTS_PATH
from tests.server.factories import enrolled_agent, make_report, make_unit


@pytest.fixture
def cli_db(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Engine:
    """The test database as the commands' one, with two communes."""
    monkeypatch.setenv("KIEMKE_DATABASE_URL", database_url)
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    make_unit(engine, "UBND")
    make_unit(engine, "X1", kind="commune", parent="UBND")
    make_unit(engine, "X2", kind="commune", parent="UBND")
    return engine


def test_list_by_unit_as_json_and_table(cli_db: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    x1, _ = enrolled_agent(cli_db, "X1", machine_id="pc-x1")
    enrolled_agent(cli_db, "X2", machine_id="pc-x2")
    assert main(["agents", "list", "--unit", "X1", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["count"] == 1
    [row] = listing["data"]
    assert (row["id"], row["unit"], row["machine_id"], row["revoked_at"]) == (str(x1), "X1", "pc-x1", None)
    assert main(["agents", "list"]) == 0
    table = capsys.readouterr().out
    assert "2 agents" in table and "pc-x2" in table and "live" in table
    assert main(["agents", "list", "--unit", "NOPE"]) == 2
    assert "unknown unit" in capsys.readouterr().err


def test_revoke_is_audited_and_the_agent_must_enrol_again(
    cli_db: Engine, client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    agent_id, key = enrolled_agent(cli_db, "X1", machine_id="pc-x1")
    headers = {"Authorization": f"Bearer {key}"}
    assert client.post(REPORTS_PATH, content=make_report("pc-x1").model_dump_json(), headers=headers).status_code == 201
    assert main(["agents", "revoke", str(agent_id), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"agent_id": str(agent_id), "revoked": True}
    refused = client.post(REPORTS_PATH, content=make_report("pc-x1").model_dump_json(), headers=headers)
    assert refused.status_code == 401 and "enrol" in refused.json()["detail"]
    with reading(cli_db) as session:
        entry = session.exec(select(AuditLog).where(AuditLog.action == "agent.revoke")).one()
    assert str(agent_id) in entry.detail
    assert main(["agents", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["data"][0]["revoked_at"] is not None
    assert main(["agents", "revoke", str(agent_id)]) == 2  # already revoked
    assert "no live agent" in capsys.readouterr().err
    assert main(["agents", "revoke", "not-an-id"]) == 2
