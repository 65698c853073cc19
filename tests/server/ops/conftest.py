"""A small district on a SQLite file configured the way the commands find it (``KIEMKE_DATA_DIR``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from server.db import make_engine, upgrade
from server.services.ingest import Delivery, receive
from tests.server.factories import T0, make_report, make_unit


def deliver(engine: Engine, unit_id: int, machine: str, days: int, **facts: object) -> None:
    """One accepted report of ``machine``, ``days`` after T0."""
    report = make_report(machine, serial=f"SN-{machine}", hostname=machine,
                         collected_at=T0 + timedelta(days=days), **facts)  # type: ignore[arg-type]
    assert receive(engine, report, lambda _c: Delivery(unit_id=unit_id)).status == "accepted"


@pytest.fixture
def district_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Engine]]:
    """The configured SQLite file (two units, two PCs) and an engine on it."""
    data = tmp_path / "var"
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(data))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("KIEMKE_DATABASE_URL", raising=False)
    path = data / "kiemke.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    office = make_unit(engine, "UBND", staff=10, lan=True)
    commune = make_unit(engine, "XA-01", kind="commune", parent="UBND", staff=5)
    deliver(engine, office, "pc-1", 0)
    deliver(engine, commune, "pc-2", 1)
    yield path, engine
    engine.dispose()
