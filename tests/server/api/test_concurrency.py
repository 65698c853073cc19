"""Several real server processes on one database receive the same reports at once: none lost, none doubled."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.models import Device, Observation, ReceivedReport, table_of
from shared.protocol import REPORTS_PATH
from tests.server.factories import T0, enrolled_agent, make_report, make_unit
from tests.server.world import served

pytestmark = pytest.mark.slow

PROCESSES = 3
MACHINES = 6
REPORTS_PER_MACHINE = 8


@pytest.fixture
def servers(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Base URLs of real uvicorn processes sharing the test database."""
    with ExitStack() as stack:
        yield [stack.enter_context(served(database_url, tmp_path / f"server-{n}")) for n in range(PROCESSES)]


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
