"""Faults under load, with counts that must match: every acknowledged report stored once, none doubled.

50 agents (threads, each its own key and machine) send their reports to one real uvicorn process and, like
the agent's spool, keep a report until the server acknowledges it (201, or 200 for a duplicate). Meanwhile
the server is killed with SIGKILL and started again, or PostgreSQL's backends are terminated under it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.models import Device, ReceivedReport, table_of
from shared.protocol import HEALTH_PATH, REPORTS_PATH
from tests.server.factories import T0, enrolled_agent, make_report, make_unit
from tests.server.world import _free_port

pytestmark = pytest.mark.slow

AGENTS = 50
REPORTS_EACH = 6


class Server:
    """One uvicorn process on a fixed port that can be killed and started again."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "KIEMKE_DATABASE_URL": database_url, "KIEMKE_DATA_DIR": str(tmp_path),
                    "KIEMKE_ENV": "test"}
        self.log = tmp_path / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "server.main:app_from_env", "--host", "127.0.0.1",
                 "--port", str(self.port), "--log-level", "warning"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.url + HEALTH_PATH, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@pytest.fixture
def server(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Server]:
    """A started server on the test database."""
    running = Server(database_url, tmp_path)
    running.start()
    yield running
    running.stop()


def _load(engine: Engine, server: Server, fault: Callable[[], None], acknowledged_before_fault: int) -> None:
    """Send every agent's reports while ``fault`` strikes once; then check the counts."""
    make_unit(engine)
    keys = [enrolled_agent(engine, machine_id=f"pc-{n}")[1] for n in range(AGENTS)]
    acknowledged: list[str] = []
    lock = threading.Lock()

    def agent(n: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for r in range(REPORTS_EACH):
                report = make_report(f"pc-{n}", serial=f"SN-{n}", hostname=f"pc-{n}",
                                     collected_at=T0 + timedelta(hours=r), av_enabled=r % 2 == 0)
                body = report.model_dump_json()
                deadline = time.monotonic() + 120
                while True:  # the spool keeps a report until the server acknowledges it
                    try:
                        answer = client.post(REPORTS_PATH, content=body, headers={"Authorization": f"Bearer {keys[n]}"})
                        if answer.status_code in (200, 201):
                            break
                        assert answer.status_code >= 500, answer.text  # a refusal would lose the report
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, "report never acknowledged"
                    time.sleep(0.2)
                with lock:
                    acknowledged.append(str(report.report_id))

    with ThreadPoolExecutor(max_workers=AGENTS) as pool:
        futures = [pool.submit(agent, n) for n in range(AGENTS)]
        deadline = time.monotonic() + 120
        while len(acknowledged) < acknowledged_before_fault and time.monotonic() < deadline:
            time.sleep(0.01)
        fault()
        for future in futures:
            future.result()
    with engine.connect() as conn:
        stored = conn.execute(sa.select(table_of(ReceivedReport).c.report_id)).scalars().all()
        counts = conn.execute(sa.select(table_of(Device).c.reports_received)).scalars().all()
    assert len(acknowledged) == AGENTS * REPORTS_EACH
    assert sorted(str(s) for s in stored) == sorted(acknowledged)  # acknowledged = stored, none doubled
    assert sorted(counts) == [REPORTS_EACH] * AGENTS


def test_server_killed_under_fifty_agents(engine: Engine, server: Server) -> None:
    def kill_and_restart() -> None:
        server.kill()
        server.start()

    _load(engine, server, kill_and_restart, acknowledged_before_fault=AGENTS)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgres_backends_terminated_under_load(engine: Engine, server: Server, database_url: str) -> None:
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")

    def terminate() -> None:
        for _ in range(3):
            with admin.connect() as conn:
                conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            time.sleep(0.3)

    try:
        _load(engine, server, terminate, acknowledged_before_fault=AGENTS)
    finally:
        admin.dispose()
