"""The alert tests' world: a district with two communes, reports through the real ingest path, the alert rows."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.db import reading, writing
from server.models import Alert, Device, table_of
from server.services.ingest import Delivery, IngestResult, receive
from server.services.policy import Policy
from server.services.records import save_device
from shared.schema import InventoryReport
from tests.server.factories import make_report, make_unit

#: The tests' "now": 2026-12-03 09:00 in Hanoi.
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)
POLICY = Policy()


def build_district(engine: Engine) -> Engine:
    """UBND (district) with communes XA1 and XA2."""
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    make_unit(engine, "UBND", "district", name="UBND huyện", at=at)
    make_unit(engine, "XA1", "commune", parent="UBND", name="Xã Một", at=at)
    make_unit(engine, "XA2", "commune", parent="UBND", name="Xã Hai", at=at)
    return engine


def unit_id(engine: Engine, code: str) -> int:
    with reading(engine) as session:
        return int(session.execute(sa.text("SELECT id FROM org_unit WHERE code = :c"), {"c": code}).scalar_one())


def send(engine: Engine, unit: str, report: InventoryReport) -> IngestResult:
    """Deliver a report as the API does (the clock decides when it is filed)."""
    delivery = Delivery(unit_id=unit_id(engine, unit))
    return receive(engine, report, lambda _conn: delivery)


def report(machine: str = "pc-a", *, at: datetime = NOW, antivirus: list[dict[str, Any]] | None = None,
           **kw: Any) -> InventoryReport:
    """A Windows desktop's report collected at ``at`` (Defender on and current unless ``antivirus`` says)."""
    extra: dict[str, Any] = {}
    if antivirus is not None:
        extra["antivirus"] = antivirus
    return make_report(machine, collected_at=at, serial=f"SN-{machine}", hostname=machine, **extra, **kw)


def set_air_gapped(engine: Engine, device_id: int, at: datetime) -> None:
    with writing(engine) as session:
        device = session.get(Device, device_id)
        assert device is not None
        device.air_gapped = True
        save_device(session, device, at)


def alerts(engine: Engine, **where: Any) -> list[dict[str, Any]]:
    """Every alert row as a dict, oldest first."""
    t = table_of(Alert)
    query = sa.select(t).order_by(t.c.id)
    for name, value in where.items():
        query = query.where(t.c[name] == value)
    with reading(engine) as session:
        return [dict(r._mapping) for r in session.execute(query)]
