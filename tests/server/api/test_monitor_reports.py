"""Monitors and network evidence through the API's batched writer (PostgreSQL sends them in one statement)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server.db import make_engine, reading
from server.models import Device, MonitorSighting, Observation, table_of
from server.services.history import snapshot
from shared.protocol import REPORTS_PATH
from tests.server.factories import T0, enrolled_agent, make_report, make_unit

MONITORS = [{"manufacturer": "DEL", "model": "P2219H", "serial": "CN0ABCD1234", "year_of_manufacture": 2018},
            {"manufacturer": "LEN", "model": "T2224d", "serial": None, "year_of_manufacture": 2020}]
NETWORK = {"interfaces": [{"name": "eth0", "kind": "ethernet", "is_up": True, "ipv4": ["10.1.2.3"]}],
           "default_gateway": "10.1.2.1"}


@pytest.fixture
def db(client: TestClient, database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    make_unit(engine)
    yield engine
    engine.dispose()


def _rows(engine: Engine, model: type, *where: sa.ColumnElement[bool]) -> list[sa.Row[object]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table_of(model)).where(*where)))


def test_reports_with_monitors_through_the_api(client: TestClient, db: Engine) -> None:
    _, key = enrolled_agent(db)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    for hours, av_enabled in ((0, True), (1, True), (2, False), (3, True)):  # the 2nd is unchanged
        report = make_report(collected_at=T0 + timedelta(hours=hours), av_enabled=av_enabled, network=NETWORK,
                             peripherals={"monitors": MONITORS})
        assert client.post(REPORTS_PATH, content=report.model_dump_json(), headers=headers).status_code == 201
    monitors = _rows(db, Device, table_of(Device).c.kind == "monitor")
    assert sorted(m.model for m in monitors) == ["P2219H", "T2224d"]
    assert len(_rows(db, Observation)) == 3 and len(_rows(db, MonitorSighting)) == 6
    assert {s.year for s in _rows(db, MonitorSighting)} == {2018, 2020}
    with reading(db) as session:
        snap = snapshot(session, T0.date())
    computer = next(d for d in snap.devices if d.kind == "desktop")
    assert computer.lan_evidence is True and computer.wifi_evidence is False
    assert {d.host_id for d in snap.devices if d.kind == "monitor"} == {computer.id}
    assert {d.last_seen for d in snap.devices if d.kind == "monitor"} == {T0 + timedelta(hours=3)}
