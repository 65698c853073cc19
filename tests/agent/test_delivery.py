"""Real processes: the kiemke server under uvicorn and ``python -m agent`` runs, nothing mocked.

Server away for several collections, kills in the middle of a spool write and of a delivery: every report
arrives, and exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections import Counter
from pathlib import Path

import pytest

from .realprocs import Agent, RealServer, report_id_of, wait_for

pytestmark = pytest.mark.slow


def _exactly_once(server: RealServer, expected: list[uuid.UUID]) -> None:
    counts = Counter(server.received())
    assert set(counts) == set(expected)
    assert all(n == 1 for n in counts.values())


def test_reports_made_while_the_server_is_down_all_arrive_once(server: RealServer, agent: Agent) -> None:
    agent.enroll(server)
    server.stop()
    made = []
    for _ in range(3):
        done = agent.run("report")
        assert done.returncode == 0, done.stderr
        assert "saved in the spool, not delivered (connection" in done.stdout
        made.append(report_id_of(done.stdout))
        assert agent.queued() == made
    status = agent.status()
    assert status["spool_depth"] == 3 and status["last_delivery_at"] is None
    assert status["retry_attempts"] == 3 and status["errors"]

    server.start()
    done = agent.run("report")
    assert done.returncode == 0, done.stderr
    made.append(report_id_of(done.stdout))
    assert "delivered" in done.stdout and "3 older report(s)" in done.stdout
    assert agent.queued() == []
    _exactly_once(server, made)
    status = agent.status()
    assert status["spool_depth"] == 0 and status["last_delivery_at"] and status["retry_attempts"] == 0


def _kill_at(agent: Agent, point: str) -> None:
    """Run ``report`` until it reaches fault point ``point``, then SIGKILL it."""
    process = agent.start("report", KIEMKE_AGENT_FAULT=point)
    marker = agent.data_dir / "spool" / f"fault-{point}"
    wait_for(lambda: marker.exists() or process.poll() is not None, what=f"the agent to reach {point}")
    assert process.poll() is None, process.communicate()[0]
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    marker.unlink()


def test_killed_while_writing_loses_nothing_spooled(server: RealServer, agent: Agent) -> None:
    agent.enroll(server)
    spooled = [report_id_of(agent.run("report", "--no-send").stdout) for _ in range(2)]
    assert agent.queued() == spooled

    _kill_at(agent, "spool_write")
    assert agent.queued() == spooled  # the half-written report is no report
    assert len(agent.temporaries()) == 1

    done = agent.run("report")
    assert done.returncode == 0, done.stderr
    newest = report_id_of(done.stdout)
    assert agent.temporaries() == [] and agent.queued() == []
    _exactly_once(server, [*spooled, newest])


def test_killed_after_the_server_answered_does_not_duplicate(server: RealServer, agent: Agent) -> None:
    agent.enroll(server)
    first = report_id_of(agent.run("report", "--no-send").stdout)

    _kill_at(agent, "after_send")
    # The server has the oldest report, but the agent died before taking it out of its spool.
    assert server.received() == [first]
    second = agent.queued()[1]
    assert agent.queued() == [first, second]

    done = agent.run("report")
    assert done.returncode == 0, done.stderr
    third = report_id_of(done.stdout)
    assert agent.queued() == []
    _exactly_once(server, [first, second, third])


def test_a_second_run_gives_up_or_waits_for_the_first(server: RealServer, agent: Agent) -> None:
    agent.enroll(server)
    process = agent.start("report", KIEMKE_AGENT_FAULT="spool_write")
    marker = agent.data_dir / "spool" / "fault-spool_write"
    try:
        wait_for(marker.exists, what="the first run to hold the lock")
        second = agent.run("report")
        assert second.returncode == 75 and "another kiemke-agent collection" in second.stderr
        assert agent.queued() == [] and server.received() == []
        # With --wait (what the daemon passes), the second run takes its turn once the first is gone.
        waiting = agent.start("report", "--wait", "60")
        os.kill(process.pid, signal.SIGKILL)
        output, _ = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, output
        _exactly_once(server, [report_id_of(output)])
        assert agent.temporaries() == []
    finally:
        process.kill()
        process.wait()


def test_status_json_has_the_promised_keys(server: RealServer, agent: Agent) -> None:
    before = agent.status()
    assert before["enrolled"] is False
    agent.enroll(server)
    assert agent.run("report").returncode == 0
    status = agent.status()
    for key in ("enrolled", "server", "spool_depth", "last_collection_at", "last_delivery_at", "next_run_at",
                "errors"):
        assert key in status
    assert status["enrolled"] is True and status["server"] == server.url and status["plain_http"] is True
    assert status["spool_depth"] == 0 and status["last_collection_at"] and status["last_delivery_at"]
    human = agent.run("status")
    assert human.returncode == 0 and "PLAIN HTTP" in human.stdout


def test_config_is_owner_only(server: RealServer, agent: Agent, tmp_path: Path) -> None:
    agent.enroll(server)
    config = agent.data_dir / "config.json"
    assert (config.stat().st_mode & 0o777) == 0o600
    assert (agent.data_dir.stat().st_mode & 0o777) == 0o700
    assert "kk_" in config.read_text(encoding="utf-8")


def test_plain_http_is_refused_without_allow_http(server: RealServer, agent: Agent) -> None:
    done = agent.run("enroll", "--server", server.url, "--token", server.token())
    assert done.returncode == 2 and "plain HTTP" in done.stderr
    assert not (agent.data_dir / "config.json").exists()


def test_a_bad_token_is_refused(server: RealServer, agent: Agent) -> None:
    server.add_unit()
    done = agent.run("enroll", "--server", server.url, "--token", "kt_not-a-real-token", "--allow-http")
    assert done.returncode == 3 and "enrolment failed" in done.stderr


def test_a_report_the_real_server_refuses_is_set_aside(server: RealServer, agent: Agent) -> None:
    agent.enroll(server)
    queue = agent.data_dir / "spool" / "queue"
    queue.mkdir(parents=True)
    # What a damaged disk sector could leave: a queue entry that is not a report at all.
    broken = queue / f"00000000000000000001-{uuid.uuid4()}.json"
    broken.write_bytes(b'{"report_id": "not-a-uuid", "machine_id": ""}')
    done = agent.run("report")
    assert done.returncode == 0, done.stderr
    newest = report_id_of(done.stdout)
    assert f"Report {newest} delivered" in done.stdout and "1 report(s) refused" in done.stdout
    kept = agent.data_dir / "spool" / "rejected" / broken.name
    assert kept.exists() and "HTTP 422" in kept.with_suffix(".reason").read_text(encoding="utf-8")
    _exactly_once(server, [newest])
    assert agent.status()["rejected"] == 1


def test_a_refused_key_keeps_reports_until_re_enrolment(server: RealServer, agent: Agent) -> None:
    agent.enroll(server)
    config = agent.data_dir / "config.json"
    settings = json.loads(config.read_text(encoding="utf-8"))
    # What a revoked key looks like from the PC: the server no longer knows this secret.
    settings["agent_key"] = settings["agent_key"].rsplit("_", 1)[0] + "_revoked"
    config.write_text(json.dumps(settings), encoding="utf-8")

    done = agent.run("report")
    assert done.returncode == 0 and "re-enrol" in done.stdout
    kept = report_id_of(done.stdout)
    assert agent.queued() == [kept] and server.received() == []
    assert agent.status()["reenrol_required"] is True

    agent.enroll(server)
    assert agent.status()["reenrol_required"] is False
    done = agent.run("report")
    assert done.returncode == 0 and "1 older report(s)" in done.stdout
    _exactly_once(server, [kept, report_id_of(done.stdout)])
