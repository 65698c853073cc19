"""History rebuilt from reports delivered in any order, with re-sends, matches a plain model of them."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import Engine

from server.db import reading
from server.services.history import snapshot
from server.services.ingest import Delivery, receive
from shared.schema import InventoryReport
from tests.server.factories import T0, make_report, make_unit

BIOS = (date(2014, 6, 1), date(2021, 3, 9))


def _reports(rng: random.Random, machine: str, serial: str) -> list[InventoryReport]:
    minutes = sorted(rng.sample(range(12 * 24 * 60), 25))  # distinct times over twelve days
    return [
        make_report(machine, serial=serial, collected_at=T0 + timedelta(hours=1, minutes=m),
                    av_enabled=rng.random() < 0.6, bios_date=rng.choice(BIOS), hostname=rng.choice(("pc-a", "pc-b")))
        for m in minutes
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_delivery_order_gives_the_same_history(engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    unit = make_unit(engine)
    reports = _reports(rng, "m-0", "SN-0") + _reports(rng, "m-1", "SN-1")
    deliveries = reports + rng.sample(reports, 10)  # some sent twice
    rng.shuffle(deliveries)
    for report in deliveries:
        receive(engine, report, lambda _c: Delivery(unit_id=unit))

    for day in range(13):
        as_of = T0.date() + timedelta(days=day)
        cutoff = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
        with reading(engine) as session:
            states = {s.machine_id: s for s in snapshot(session, as_of, tz=timezone.utc).devices}
        for machine in ("m-0", "m-1"):
            seen = [r for r in reports if r.machine_id == machine and r.collected_at < cutoff]
            if not seen:
                assert machine not in states
                continue
            latest, state = seen[-1], states[machine]
            assert state.reports_received == len(seen)
            assert state.last_seen == latest.collected_at and state.first_seen == seen[0].collected_at
            assert state.hostname == latest.hostname
            assert state.antivirus[0].enabled == latest.antivirus[0].enabled
            assert state.bios_date == latest.hardware.bios_date
            assert state.earliest_bios_date == min(r.hardware.bios_date for r in seen if r.hardware.bios_date)
