"""A snapshot as of a past date rebuilds that day and stays the same after later reports and edits."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from server.db import reading, writing
from server.models import AntivirusLicence, Device
from server.services.history import end_of_day, snapshot, units_as_of
from server.services.ingest import Delivery, receive
from server.services.records import save_device, save_licence, unit_by_code
from shared.schema import InventoryReport
from tests.server.factories import T0, enrolled_agent, make_report, make_unit

pytestmark = pytest.mark.dates  # cut-off days end at local midnight: run again under another TZ

DAY = T0.date()


def _deliver(engine: Engine, report: InventoryReport, unit_id: int, via: str = "http") -> None:
    delivery = Delivery(via="import" if via == "import" else "http", unit_id=unit_id)
    assert receive(engine, report, lambda _s: delivery).status == "accepted"


def _setup(engine: Engine) -> int:
    make_unit(engine, "UBND", staff=20, lan=True, internet="fibre", one_stop_shop=True)
    return make_unit(engine, "XA-01", kind="commune", parent="UBND", staff=8, lan=False)


def test_snapshot_of_a_past_day_survives_later_reports_and_edits(engine: Engine) -> None:
    commune = _setup(engine)
    _deliver(engine, make_report(collected_at=T0, bios_date=date(2014, 6, 1)), commune)
    _deliver(engine, make_report(collected_at=T0 + timedelta(hours=5), bios_date=date(2021, 1, 5)), commune)
    with writing(engine) as session:
        save_licence(session, AntivirusLicence(product="Bkav Pro", seats=10, valid_from=date(2024, 1, 1),
                                               valid_to=date(2024, 12, 31), unit_id=commune), T0)
    with reading(engine) as session:
        before = snapshot(session, DAY)
    device = before.devices[0]
    assert device.earliest_bios_date == date(2014, 6, 1) and device.bios_date == date(2021, 1, 5)
    assert device.reports_received == 2 and device.has_agent and device.unit_code == "XA-01"
    assert [u.code for u in before.units] == ["UBND", "XA-01"]
    assert before.units[1].parent_code == "UBND"
    assert before.licences[0].seats == 10 and before.corrected_after is None

    later = T0 + timedelta(days=3)
    _deliver(engine, make_report(collected_at=later, av_enabled=False, hostname="pc-renamed"), commune)
    make_unit(engine, "XA-01", kind="commune", parent="UBND", staff=12, lan=True, at=later)
    with writing(engine) as session:
        row = session.exec(select(Device)).one()
        row.air_gapped = True
        save_device(session, row, later)
        lic = session.exec(select(AntivirusLicence)).one()
        lic.seats = 2
        save_licence(session, lic, later)
    with reading(engine) as session:
        again = snapshot(session, DAY)
        now = snapshot(session, DAY + timedelta(days=3))
    assert again.devices == before.devices
    assert again.units == before.units and again.licences == before.licences
    assert again.corrected_after is not None and again.corrected_after >= later
    assert now.devices[0].hostname == "pc-renamed" and now.devices[0].air_gapped
    assert now.devices[0].antivirus[0].enabled is False and now.devices[0].reports_received == 3
    assert now.units[1].staff == 12 and now.licences[0].seats == 2 and now.corrected_after is None


def test_snapshot_before_anything_is_empty_and_devices_keep_their_unit(engine: Engine) -> None:
    commune = _setup(engine)
    _deliver(engine, make_report(collected_at=T0), commune)
    with reading(engine) as session:
        empty = snapshot(session, DAY - timedelta(days=1))
        full = snapshot(session, DAY)
        units = units_as_of(session, DAY)
    assert empty.units == () and empty.devices == ()
    assert [d.unit_code for d in full.devices] == ["XA-01"]
    assert units == list(full.units)


def test_report_delivered_by_import_marks_device_offline(engine: Engine) -> None:
    commune = _setup(engine)
    _deliver(engine, make_report(collected_at=T0), commune, via="import")
    with reading(engine) as session:
        state = snapshot(session, DAY).devices[0]
    assert state.delivered_offline and state.has_agent


def test_day_ends_in_the_district_zone() -> None:
    assert end_of_day(date(2024, 5, 18)) == datetime(2024, 5, 18, 17, 0, tzinfo=timezone.utc)
    assert end_of_day(date(2024, 5, 18), timezone.utc) == datetime(2024, 5, 19, tzinfo=timezone.utc)


def test_agent_unit_of_enrolled_agent(engine: Engine) -> None:
    _setup(engine)
    agent_id, key = enrolled_agent(engine, "XA-01")
    with reading(engine) as session:
        assert unit_by_code(session, "XA-01") is not None
    assert key.startswith(f"kk_{agent_id}_")
