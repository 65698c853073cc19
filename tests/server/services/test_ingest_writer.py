"""Group commit: reports queued together commit together, each failure stays in its own savepoint."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from server.models import Device, ReceivedReport, table_of
from server.services.ingest import Delivery, IngestResult
from server.services.ingest_writer import IngestWriter
from tests.server.factories import make_report, make_unit


@pytest.fixture
def writer(engine: Engine) -> Iterator[IngestWriter]:
    make_unit(engine)
    ingest_writer = IngestWriter(engine, writers=1)
    yield ingest_writer
    ingest_writer.stop()


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table_of(model))).scalar_one())


def test_a_batch_keeps_good_reports_and_refuses_bad_ones(writer: IngestWriter, engine: Engine) -> None:
    placed = Delivery(unit_id=1)

    def refuse(_conn: Connection) -> Delivery:
        raise PermissionError("unknown key")

    same = make_report("m-1")
    futures: list[Future[IngestResult]] = [
        writer.submit(same, lambda _c: placed),
        writer.submit(make_report("m-2", serial="SN-2"), refuse),
        writer.submit(same, lambda _c: placed),  # the same report again, maybe in the same batch
        writer.submit(make_report("m-3", serial="SN-3"), lambda _c: Delivery()),  # unknown machine, no unit
        writer.submit(make_report("m-4", serial="SN-4"), lambda _c: placed),
    ]
    outcomes = []
    for future in futures:
        try:
            outcomes.append(future.result(timeout=60).status)
        except Exception as exc:
            outcomes.append(type(exc).__name__)
    assert outcomes == ["accepted", "PermissionError", "duplicate", "UnplacedDevice", "accepted"]
    assert (_count(engine, ReceivedReport), _count(engine, Device)) == (2, 2)


def test_stop_answers_what_is_queued(engine: Engine) -> None:
    make_unit(engine)
    ingest_writer = IngestWriter(engine, writers=2)
    futures = [ingest_writer.submit(make_report(f"m-{n}", serial=f"S-{n}"), lambda _c: Delivery(unit_id=1))
               for n in range(20)]
    ingest_writer.stop()
    assert all(f.done() and f.result().status == "accepted" for f in futures)
