"""Several real server processes on one database receive the same reports at once: none lost, none doubled."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.models import Device, Observation, ReceivedReport, table_of
from shared.protocol import HEALTH_PATH, REPORTS_PATH
from tests.server.factories import T0, enrolled_agent, make_report, make_unit

pytestmark = pytest.mark.slow

PROCESSES = 3
MACHINES = 6
REPORTS_PER_MACHINE = 8


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def servers(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Base URLs of real uvicorn processes sharing the test database."""
    env = {**os.environ, "KIEMKE_DATABASE_URL": database_url, "KIEMKE_DATA_DIR": str(tmp_path), "KIEMKE_ENV": "test"}
    procs, urls = [], []
    for n in range(PROCESSES):
        port = _free_port()
        log = (tmp_path / f"server-{n}.log").open("wb")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "server.main:app_from_env", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        ))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        for url, proc in zip(urls, procs, strict=True):
            while True:
                assert proc.poll() is None, (tmp_path / "server-0.log").read_text()
                try:
                    if httpx.get(url + HEALTH_PATH, timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


def test_same_reports_to_every_process_at_once(engine: Engine, servers: list[str]) -> None:
    make_unit(engine)
    keys = [enrolled_agent(engine, machine_id=f"machine-{m}")[1] for m in range(MACHINES)]
    reports = [
        (keys[m], make_report(f"machine-{m}", serial=f"SN-{m}", hostname=f"pc-{m}",
                              collected_at=T0 + timedelta(hours=4 * r), av_enabled=r % 3 != 0).model_dump_json())
        for r in range(REPORTS_PER_MACHINE)
        for m in range(MACHINES)
    ]
    answers: Counter[tuple[int, str]] = Counter()
    lock = threading.Lock()
    clients = [httpx.Client(base_url=url, timeout=60) for url in servers]

    def send(key: str, body: str, client: httpx.Client, barrier: threading.Barrier) -> None:
        barrier.wait()  # every process gets this report at the same moment
        response = client.post(REPORTS_PATH, content=body, headers={"Authorization": f"Bearer {key}"})
        with lock:
            answers[(response.status_code, response.json().get("status", response.text))] += 1

    with ThreadPoolExecutor(max_workers=PROCESSES * 8) as pool:
        futures = []
        for key, body in reports:
            barrier = threading.Barrier(PROCESSES)
            futures += [pool.submit(send, key, body, client, barrier) for client in clients]
        for future in futures:
            future.result()
    for client in clients:
        client.close()

    total = len(reports)
    assert answers == {(201, "accepted"): total, (200, "duplicate"): total * (PROCESSES - 1)}
    with engine.connect() as conn:
        received = conn.execute(sa.select(sa.func.count()).select_from(table_of(ReceivedReport))).scalar_one()
        devices = conn.execute(sa.select(table_of(Device).c.reports_received)).scalars().all()
        observations = conn.execute(sa.select(sa.func.count()).select_from(table_of(Observation))).scalar_one()
    assert received == total
    assert sorted(devices) == [REPORTS_PER_MACHINE] * MACHINES
    assert MACHINES <= observations <= total
