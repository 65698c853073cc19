"""``kiemke-server simulate`` against a real uvicorn server on loopback, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.cli import main
from server.db import writing
from server.models import Agent, Device, ReceivedReport, table_of
from server.services.enrolment import create_token, revoke
from tests.server.factories import make_unit
from tests.server.world import served

pytestmark = pytest.mark.slow

AGENTS = 24


@pytest.fixture
def server(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[str]:
    """Base URL of a real server process on the test database."""
    with served(database_url, tmp_path) as url:
        yield url


def _simulate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["simulate", "--json", "--workers", "4", *args])
    return code, json.loads(capsys.readouterr().out)


def _count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_runs_store_what_was_accepted_reuse_identities_and_count_refusals(
    engine: Engine, server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_unit(engine, "PB01")
    make_unit(engine, "X01", kind="commune")
    with writing(engine) as session:
        tokens = [create_token(session, code, days=1, actor="test")[0] for code in ("PB01", "X01")]
    state = tmp_path / "sim.json"
    reports = table_of(ReceivedReport)
    common = ("--server", server, "--agents", str(AGENTS), "--state", str(state), "--interval", "0")

    code, first = _simulate(capsys, *common, "--token", tokens[0], "--token", tokens[1])
    assert code == 0, first
    assert first["enrolled"] == AGENTS and first["refused"] == 0 and first["errors"] == 0
    assert first["accepted"] == _count(engine, reports) > 0  # every accepted report is stored, once
    assert first["sent"] == first["accepted"] + first["duplicate"]
    assert first["duplicate"] == first["resent"]
    assert first["p50_ms"] is not None and first["throughput"] > 0
    assert _count(engine, table_of(Agent)) == AGENTS

    # The same state file: the same machines and keys (no token needed), no new agents or devices.
    devices = _count(engine, table_of(Device))
    code, second = _simulate(capsys, *common)
    assert code == 0, second
    assert second["enrolled"] == 0
    assert _count(engine, table_of(Agent)) == AGENTS
    with engine.connect() as conn:
        machines = set(conn.execute(sa.select(table_of(Device).c.machine_id)
                                    .where(table_of(Device).c.machine_id.is_not(None))).scalars())
    kept = {a["pc"]["machine_id"] for a in json.loads(state.read_text())["agents"]}
    assert machines <= kept and len(kept) == AGENTS
    assert _count(engine, table_of(Device)) >= devices
    assert _count(engine, reports) == first["accepted"] + second["accepted"]

    # A revoked key: that machine's report is refused and counted, the others still go in.
    saved = json.loads(state.read_text())["agents"]
    victim = next(a for a in saved if not a["retired"] and a["offline_steps"] == 0)
    agent_id = victim["agent_key"].split("_", 2)[1]
    with writing(engine) as session:
        assert revoke(session, uuid.UUID(agent_id), actor="test")
    code, third = _simulate(capsys, *common)
    assert code == 1  # refusals make the exit code say so
    assert third["refused"] == 1 and third["refused_by_status"] == {"401": 1}
    assert _count(engine, reports) == first["accepted"] + second["accepted"] + third["accepted"]


def test_refused_tokens_and_bad_options(server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _simulate(capsys, "--server", server, "--agents", "3", "--state", str(tmp_path / "s.json"),
                          "--token", "kket_not-a-real-token")
    assert code == 1 and out["enrolment_refused"] == 3 and out["sent"] == 0
    assert main(["simulate", "--server", "ftp://x", "--agents", "1"]) == 2
