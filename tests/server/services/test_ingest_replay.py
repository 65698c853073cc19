"""One corpus of reports replayed on SQLite and on PostgreSQL leaves equal tables.

The corpus: the captured reports under tests/data and a generated fleet over several days (changed and
unchanged facts, monitors moved between computers, a late report, a repeated report, a wrong clock, a
hand-entered computer adopted by serial), sent one by one (``receive``) and in batches (``IngestWriter``,
the API's path, with PostgreSQL's deferred ``executemany``). Surrogate ids are replaced by natural keys, so
the comparison does not depend on how batches happened to be cut.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.engine import Engine

from server.db import make_engine, upgrade, writing
from server.demo import fleet
from server.models import Device, DeviceVersion, MonitorSighting, Observation, ReceivedReport, table_of
from server.services.ingest import Delivery, receive
from server.services.ingest_writer import IngestWriter
from server.services.records import save_device
from shared.schema import InventoryReport, Monitor
from tests.server.conftest import _empty_postgres
from tests.server.factories import make_unit

DATA = Path(__file__).resolve().parents[2] / "data"
T0 = datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc)
Corpus = list[list[tuple[InventoryReport, datetime]]]  # rounds of (report, received at)


def _corpus() -> Corpus:
    """Rounds of (report, received at): every round is sent as one batch after the one before."""
    captured = [InventoryReport.model_validate_json((DATA / f"report-{os}.json").read_text())
                for os in ("windows", "linux", "darwin")]
    pcs = [fleet.simulated_pc(n, seed=3) for n in range(24)]
    rounds: list[list[tuple[InventoryReport, datetime]]] = [
        [(r, r.collected_at + timedelta(minutes=2)) for r in captured]
    ]
    for day in range(4):
        at = T0 + timedelta(days=day)
        reports = []
        for n, pc in enumerate(pcs):
            report = fleet.report_at(pc, at if (n + day) % 3 else T0)  # a third repeat their first facts
            if day == 2 and n == 1:  # the monitor of PC 0 now on PC 1
                monitors = fleet.report_at(pcs[0], T0).peripherals.monitors
                report = report.model_copy(update={"peripherals": report.peripherals.model_copy(
                    update={"monitors": [*monitors, Monitor(manufacturer="SAM", model="S22", serial="0")]})})
            if day == 3 and n == 2:  # a dead CMOS battery
                report = report.model_copy(update={"collected_at": datetime(1999, 1, 1, tzinfo=timezone.utc)})
            if report.collected_at == T0 and day:
                report = report.model_copy(update={"report_id": uuid.uuid4(), "collected_at": at})
            reports.append((report, at + timedelta(minutes=5)))
        rounds.append(reports)
    first = rounds[1][0][0]
    late = fleet.report_at(pcs[4], T0 + timedelta(hours=30))  # collected on day 1, arrives after day 3
    rounds.append([(first, T0 + timedelta(days=5)), (late, T0 + timedelta(days=5))])
    return rounds


def _replay(engine: Engine, rounds: Corpus) -> dict[str, list[tuple[Any, ...]]]:
    unit = make_unit(engine, at=T0 - timedelta(days=400))
    with writing(engine) as session:  # a computer entered by hand, adopted by its agent's first report
        pc = fleet.simulated_pc(5, seed=3)
        save_device(session, Device(unit_id=unit, kind="desktop", name="hand", serial=pc.serial,
                                    serial_key=pc.serial.upper()), T0 - timedelta(days=10))
    delivery = Delivery(via="import", unit_id=unit)
    for report, now in rounds[0]:
        receive(engine, report, lambda _c: delivery, now=now)
    writer = IngestWriter(engine, writers=1)
    try:
        for batch in rounds[1:-1]:
            with time_machine.travel(batch[0][1], tick=False):  # the writer files at the server's time
                for future in [writer.submit(report, lambda _c: delivery) for report, _ in batch]:
                    future.result(timeout=60)
    finally:
        writer.stop()
    for report, now in rounds[-1]:
        receive(engine, report, lambda _c: delivery, now=now)
    return _tables(engine)


def _tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every ingest table, surrogate ids replaced by natural keys and volatile receipt times dropped."""
    with engine.connect() as conn:
        devices = {r.id: r.machine_id or r.edid_key or f"hand:{r.serial_key}" for r in conn.execute(
            sa.select(table_of(Device)))}
        observations = {r.id: str(r.report_id) for r in conn.execute(sa.select(table_of(Observation)))}
        keys = {"device_id": devices, "host_id": devices, "monitor_id": devices, "possible_duplicate_of": devices,
                "observation_id": observations}
        out = {}
        for model in (Device, DeviceVersion, Observation, MonitorSighting, ReceivedReport):
            rows = []
            for row in conn.execute(sa.select(table_of(model))):
                values = dict(row._mapping)
                if model is Device:
                    values["monitor_ids"] = sorted(devices[int(n)] for n in (row.monitor_ids or "").split(",") if n)
                    values["key"] = devices[row.id]
                rows.append(tuple(sorted(
                    (name, keys[name].get(value, value) if name in keys else value)
                    for name, value in values.items() if name != "id"
                )))
            out[table_of(model).name] = sorted(rows, key=repr)
    return out


@pytest.mark.dates
def test_the_corpus_leaves_equal_tables_on_sqlite_and_postgresql(sqlite_template: Path, postgres_database: str,
                                                                   tmp_path: Path) -> None:
    target = tmp_path / "kiemke.db"
    shutil.copy(sqlite_template, target)
    _empty_postgres(postgres_database)
    corpus = _corpus()
    results = []
    for url in (f"sqlite:///{target}", postgres_database):
        engine = make_engine(url)
        upgrade(engine)
        try:
            results.append(_replay(engine, corpus))
        finally:
            engine.dispose()
    on_sqlite, on_postgres = results
    assert {name: len(rows) for name, rows in on_sqlite.items()} == {
        name: len(rows) for name, rows in on_postgres.items()}
    for name in on_sqlite:
        assert on_sqlite[name] == on_postgres[name], name
    # The corpus exercises what it says it does.
    reports = on_sqlite["received_report"]
    assert any(dict(r)["claimed_collected_at"] for r in reports)  # a wrong clock
    assert len(on_sqlite["monitor_sighting"]) > 10 and len(on_sqlite["observation"]) < len(reports)
    assert "1999-01-01T00:00:00+00:00" in str(reports)
