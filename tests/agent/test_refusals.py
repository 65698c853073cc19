"""Real agent processes against a loopback server scripted to answer 500, then 413, then 401.

The real kiemke server does not fail on demand, so a small ``http.server`` stands in for these three answers;
everything on the agent's side (spool, state, exit codes) is the real thing.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from agent.config import AgentSettings

from .helpers import ScriptedServer, scripted_server
from .realprocs import Agent, report_id_of

pytestmark = pytest.mark.slow


def _enrolled_with(agent: Agent, server: ScriptedServer) -> None:
    """Write the config an enrolment against ``server`` would have written."""
    settings = AgentSettings.load(agent.data_dir, env={})
    agent_id = uuid.uuid4()
    settings.server_url = server.url
    settings.allow_http = True
    settings.agent_id = agent_id
    settings.agent_key = f"kk_{agent_id}_scripted"
    settings.save()


def _sent_ids(server: ScriptedServer) -> list[tuple[int, uuid.UUID]]:
    return [(status, uuid.UUID(str(body["report_id"]))) for status, body in server.report_posts()]


def test_500_is_retried_413_set_aside_401_asks_for_re_enrolment(agent: Agent) -> None:
    with scripted_server([500, 413, 200, 401]) as server:
        _enrolled_with(agent, server)

        # 500: the report stays, the spool backs off.
        done = agent.run("report")
        assert done.returncode == 0 and "not delivered (HTTP 500" in done.stdout
        a = report_id_of(done.stdout)
        assert agent.queued() == [a]
        status = agent.status()
        assert status["retry_attempts"] == 1 and status["next_retry_at"] and not status["reenrol_required"]

        # 413 for the old report: set aside with the reason, and the new one still goes.
        done = agent.run("report")
        assert done.returncode == 0, done.stderr
        b = report_id_of(done.stdout)
        assert f"Report {b} delivered" in done.stdout and "1 report(s) refused" in done.stdout
        assert _sent_ids(server) == [(500, a), (413, a), (200, b)]
        rejected = agent.data_dir / "spool" / "rejected"
        (kept,) = sorted(rejected.glob("*.json"))
        assert json.loads(kept.read_text(encoding="utf-8"))["report_id"] == str(a)
        assert "HTTP 413" in kept.with_suffix(".reason").read_text(encoding="utf-8")
        status = agent.status()
        assert status["spool_depth"] == 0 and status["rejected"] == 1 and status["retry_attempts"] == 0

        # 401: keep the report, stop, and say re-enrol.
        done = agent.run("report")
        assert done.returncode == 0 and "re-enrol" in done.stdout
        c = report_id_of(done.stdout)
        assert agent.queued() == [c]
        status = agent.status()
        assert status["reenrol_required"] is True
        assert any("re-enrol" in e["message"] for e in status["errors"])
        assert "re-enrol this agent" in agent.run("status").stdout

        # The daemon's own collections keep spooling without knocking with the refused key.
        posts_before = len(server.report_posts())
        done = agent.run("report", "--no-send")
        assert done.returncode == 0 and len(agent.queued()) == 2
        assert len(server.report_posts()) == posts_before


def test_not_enrolled_is_a_clear_error(agent: Agent) -> None:
    done = agent.run("report")
    assert done.returncode == 2 and "not enrolled" in done.stderr


def test_a_spool_that_cannot_be_written_sends_the_report_straight_away(agent: Agent, tmp_path: Path) -> None:
    with scripted_server([]) as server:
        _enrolled_with(agent, server)
        # A file where the spool directory should be: the report cannot be saved, so it goes from memory.
        (agent.data_dir / "spool").mkdir()
        (agent.data_dir / "spool" / "queue").write_text("not a directory", encoding="utf-8")
        done = agent.run("report")
    assert done.returncode == 0, done.stderr
    assert "sent straight away" in done.stderr
    assert len(server.report_posts()) == 1  # with the server away too, tests/agent/test_disk_full.py: exit 1
