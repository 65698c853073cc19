"""The daemon (``kiemke-agent run``) as a real process: collects on its timetable while the server is away,
catches up when it returns, heartbeats, and stops cleanly on SIGTERM."""

from __future__ import annotations

import re
import signal
import uuid
from collections import Counter

import pytest

from .realprocs import Agent, RealServer, report_id_of, wait_for

pytestmark = pytest.mark.slow

FAST = {
    "KIEMKE_AGENT_INTERVAL_SECONDS": "2",
    "KIEMKE_AGENT_JITTER_SECONDS": "0",
    "KIEMKE_AGENT_START_WINDOW_SECONDS": "0",
    "KIEMKE_AGENT_HEARTBEAT_SECONDS": "1",
    "KIEMKE_AGENT_RETRY_CHECK_SECONDS": "1",
}


def _logged_reports(agent: Agent) -> list[uuid.UUID]:
    log = agent.data_dir / "agent.log"
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    return [uuid.UUID(m) for m in re.findall(r"report: Report ([0-9a-f-]{36})", text)]


def test_daemon_spools_while_the_server_is_away_and_delivers_each_report_once(
    server: RealServer, agent: Agent
) -> None:
    agent.enroll(server)
    server.stop()
    daemon = agent.start("run", **FAST)
    try:
        wait_for(lambda: len(agent.queued()) >= 3, timeout=90, what="three collections spooled")
        status = wait_for(lambda: (s := agent.status())["retry_attempts"] >= 1 and s, what="a failed retry")
        assert status["daemon_running"] is True and status["next_run_at"]

        server.start()
        wait_for(lambda: len(server.received()) >= 3 and not agent.queued(), timeout=90, what="the catch-up")
        wait_for(lambda: agent.status()["last_heartbeat_at"], what="a heartbeat")
    finally:
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, output

    # Whatever the last collection left, one more report sends; then every report made arrived once.
    done = wait_for(lambda: (d := agent.run("report")).returncode != 75 and d, what="the lock to be free")
    assert done.returncode == 0, done.stderr
    made = [*_logged_reports(agent), report_id_of(done.stdout)]
    assert len(made) >= 4
    counts = Counter(server.received())
    assert set(counts) == set(made) and set(counts.values()) == {1}
    assert agent.queued() == []
    assert agent.status()["daemon_running"] is False


def test_daemon_refuses_to_start_unenrolled(agent: Agent) -> None:
    done = agent.run("run")
    assert done.returncode == 2 and "not enrolled" in done.stderr


def test_idle_daemon_stays_small(server: RealServer, agent: Agent) -> None:
    import psutil

    agent.enroll(server)
    daemon = agent.start("run", KIEMKE_AGENT_START_WINDOW_SECONDS="0")
    try:
        process = psutil.Process(daemon.pid)
        wait_for(lambda: agent.status()["last_delivery_at"], timeout=90, what="the first delivery")
        wait_for(lambda: not process.children(), what="the collection child to exit")
        # The collectors ran in the child; the daemon itself holds only the scheduler and the HTTP client.
        assert process.memory_info().rss < 45 * 2**20
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=60)
