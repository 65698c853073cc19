"""Monitors reported by agents become devices: one per EDID identity, in their computer's unit, with history."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import select

from server.clock import local_today
from server.config import report_timezone
from server.db import reading, writing
from server.models import Device, MonitorSighting, Observation, table_of
from server.services.coverage import coverage_for
from server.services.history import snapshot
from server.services.ingest import Delivery, IngestResult, monitor_identities, network_evidence, receive
from server.services.policy import Policy
from server.services.records import save_device
from server.services.spreadsheets import import_assets
from server.services.state import DeviceState, Snapshot
from shared.schema import InventoryReport
from tests.server.factories import T0, make_report, make_unit

DAY = T0.date()
DELL = {"manufacturer": "DEL", "model": "DELL E2216H", "serial": "CN0XV9NP 7426", "year_of_manufacture": 2016,
        "source": "WmiMonitorID"}
SAMSUNG = {"manufacturer": "SAM", "model": "S19D300", "serial": "0", "year_of_manufacture": 2021}  # no real serial


def _report(machine: str, at: datetime, monitors: list[dict[str, Any]], **kw: Any) -> InventoryReport:
    return make_report(machine, collected_at=at, serial=f"SN-{machine}", hostname=f"pc-{machine}",
                       peripherals={"monitors": monitors}, **kw)


def _send(engine: Engine, report: InventoryReport, unit: int) -> IngestResult:
    delivery = Delivery(unit_id=unit)
    return receive(engine, report, lambda _c: delivery)


def _monitors(engine: Engine) -> list[Device]:
    with reading(engine) as session:
        return list(session.exec(select(Device).where(Device.kind == "monitor").order_by(Device.id)))  # type: ignore[arg-type]


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table_of(model))).scalar_one())


def _state(engine: Engine, day: date) -> Snapshot:
    with reading(engine) as session:
        return snapshot(session, day)


def _monitor_states(snap: Snapshot) -> dict[str | None, DeviceState]:
    return {d.model: d for d in snap.devices if d.kind == "monitor"}


@pytest.fixture
def units(engine: Engine) -> tuple[int, int]:
    make_unit(engine, "UBND", staff=5)
    return make_unit(engine, "P1", kind="department", parent="UBND"), make_unit(engine, "X1", kind="commune",
                                                                                 parent="UBND")


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """SQL run through SQLAlchemy (the hot path's own cursor statements do not show here)."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", note)


def test_identities_by_serial_else_by_host_model_and_rank() -> None:
    report = _report("a", T0, [DELL, SAMSUNG, {**SAMSUNG, "year_of_manufacture": 2022}, dict(DELL),
                              {"manufacturer": None, "model": None, "serial": None}])
    keys = [(i.key, i.edid_key(7)) for i in monitor_identities(report)]
    assert keys == [
        ("DEL|CN0XV9NP7426", "DEL|CN0XV9NP7426"),  # the same monitor listed twice is one
        ("SAM|S19D300|1", "host:7|SAM|S19D300|1"),
        ("SAM|S19D300|2", "host:7|SAM|S19D300|2"),  # two identical monitors without serial are two
    ]
    # 0x01010101 is what many makers put in every unit's EDID: it names no monitor.
    [placeholder] = monitor_identities(_report("a", T0, [{**DELL, "serial": "16843009"}]))
    assert placeholder.serial_key is None and placeholder.edid_key(3) == "host:3|DEL|DELL E2216H|1"


def test_network_evidence() -> None:
    up_lan = {"name": "Ethernet", "kind": "ethernet", "is_up": True, "ipv4": ["192.168.1.20"]}
    wifi = {"name": "Wi-Fi", "kind": "wifi", "is_up": True, "ipv4": []}
    assert network_evidence(make_report()) == (None, None)  # no interfaces listed: unknown
    with_gateway = make_report(network={"interfaces": [up_lan, {**wifi, "is_up": False}],
                                        "default_gateway": "192.168.1.1"})
    assert network_evidence(with_gateway) == (True, False)
    no_gateway = make_report(network={"interfaces": [up_lan, wifi]})
    assert network_evidence(no_gateway) == (False, True)
    no_address = make_report(network={"interfaces": [{**up_lan, "ipv4": []}], "default_gateway": "10.0.0.1"})
    assert network_evidence(no_address) == (False, False)


def test_each_monitor_is_a_device_with_its_edid_age(engine: Engine, units: tuple[int, int]) -> None:
    p1, _ = units
    _send(engine, _report("a", T0, [DELL, SAMSUNG]), p1)
    dell, samsung = _monitors(engine)
    assert (dell.unit_id, dell.vendor, dell.serial, dell.edid_key) == (p1, "DEL", "CN0XV9NP 7426", "DEL|CN0XV9NP7426")
    assert samsung.serial_key is None and samsung.edid_key is not None and samsung.edid_key.startswith("host:")
    snap = _state(engine, DAY)
    host = next(d for d in snap.devices if d.kind == "desktop")
    states = _monitor_states(snap)
    assert states["DELL E2216H"].monitor_year == 2016 and states["DELL E2216H"].host_id == host.id
    assert states["DELL E2216H"].first_seen == T0 == states["DELL E2216H"].last_seen
    assert states["DELL E2216H"].unit_code == "P1" and not states["DELL E2216H"].has_agent
    # A 2016 monitor is past five years in 2024 (estimated from EDID); the 2021 one falls due in 2026.
    cov = coverage_for(snap, Policy())
    assessment = cov.assessments[dell.id]
    assert (assessment.age_source, assessment.age_estimated, assessment.past_service_life) == ("edid", True, True)
    assert dell.id in cov.figures["past_service_life"].items
    assert samsung.id not in cov.figures["past_service_life"].items
    assert cov.assessments[samsung.id].in_service_date == date(2021, 7, 1)
    assert sum(per_unit.get("P1", 0) for per_unit in cov.forecast.values()) >= 1
    assert _state(engine, DAY - timedelta(days=1)).devices == ()  # nothing existed the day before


def test_unchanged_monitors_cost_no_lookup(engine: Engine, units: tuple[int, int], statements: list[str]) -> None:
    p1, _ = units
    _send(engine, _report("a", T0, [DELL]), p1)
    statements.clear()
    assert not _send(engine, _report("a", T0 + timedelta(hours=1), [DELL]), p1).stored  # nothing changed
    assert _send(engine, _report("a", T0 + timedelta(hours=2), [DELL], av_enabled=False), p1).stored
    assert not [s for s in statements if "edid_key" in s]  # the same monitors: ids from the computer's row
    assert len(_monitors(engine)) == 1
    assert _count(engine, MonitorSighting) == 2 and _count(engine, Observation) == 2
    assert _monitor_states(_state(engine, DAY))["DELL E2216H"].last_seen == T0 + timedelta(hours=2)


def test_a_monitor_moved_to_another_computer_is_not_twinned(engine: Engine, units: tuple[int, int]) -> None:
    p1, x1 = units
    _send(engine, _report("a", T0, [DELL]), p1)
    _send(engine, _report("a", T0 + timedelta(hours=3), [DELL]), p1)  # unchanged: seen again
    _send(engine, _report("b", T0 + timedelta(days=2), [{**DELL, "serial": "cn0xv9np7426"}]), x1)
    _send(engine, _report("a", T0 + timedelta(days=2, hours=1), []), p1)  # its old computer no longer shows it
    _send(engine, _report("a", T0 + timedelta(days=3), []), p1)
    [monitor] = _monitors(engine)
    assert monitor.unit_id == p1  # the record keeps where it was first seen; the snapshot places it
    before, after = _state(engine, DAY), _state(engine, DAY + timedelta(days=2))
    assert before.corrected_after is None  # a move later is news, not a correction of that day
    hosts = {d.hostname: d.id for d in after.devices if d.kind == "desktop"}
    then, now = _monitor_states(before)["DELL E2216H"], _monitor_states(after)["DELL E2216H"]
    assert (then.unit_code, then.host_id, then.last_seen) == ("P1", hosts["pc-a"], T0 + timedelta(hours=3))
    assert (now.unit_code, now.host_id, now.first_seen) == ("X1", hosts["pc-b"], T0)
    # Counted where it stands on each date.
    assert monitor.id in coverage_for(before, Policy()).per_unit["P1"]["past_service_life"].items
    assert monitor.id in coverage_for(after, Policy()).per_unit["X1"]["past_service_life"].items


def test_monitors_follow_their_computer_to_another_unit(engine: Engine, units: tuple[int, int]) -> None:
    p1, x1 = units
    _send(engine, _report("a", T0, [DELL]), p1)
    with writing(engine) as session:
        computer = session.exec(select(Device).where(Device.kind == "desktop")).one()
        computer.unit_id = x1
        save_device(session, computer, T0 + timedelta(days=1))
    assert _monitor_states(_state(engine, DAY))["DELL E2216H"].unit_code == "P1"
    assert _monitor_states(_state(engine, DAY + timedelta(days=1)))["DELL E2216H"].unit_code == "X1"
    moved = _state(engine, DAY + timedelta(days=1))
    assert sorted(d.kind for d in moved.devices if d.unit_code == "X1") == ["desktop", "monitor"]


def test_a_detached_monitor_was_last_seen_with_the_last_report_that_showed_it(
        engine: Engine, units: tuple[int, int]) -> None:
    p1, _ = units
    _send(engine, _report("a", T0, [DELL, SAMSUNG]), p1)
    _send(engine, _report("a", T0 + timedelta(hours=5), [DELL, SAMSUNG]), p1)
    _send(engine, _report("a", T0 + timedelta(hours=10), [DELL]), p1)  # the Samsung is unplugged (next day there)
    _send(engine, _report("a", T0 + timedelta(days=1), [DELL]), p1)
    states = _monitor_states(_state(engine, DAY + timedelta(days=1)))
    assert states["S19D300"].host_id is None and states["S19D300"].last_seen == T0 + timedelta(hours=5)
    assert states["DELL E2216H"].last_seen == T0 + timedelta(days=1)
    that_day = _monitor_states(_state(engine, DAY))["S19D300"]
    assert that_day.host_id is not None and that_day.last_seen == T0 + timedelta(hours=5)


def test_a_late_report_dates_a_monitor_back(engine: Engine, units: tuple[int, int]) -> None:
    p1, _ = units
    _send(engine, _report("a", T0 + timedelta(days=2), [DELL]), p1)
    _send(engine, _report("a", T0, [DELL], av_enabled=False), p1)  # carried in late, on a USB stick
    assert [m.model for m in _monitor_states(_state(engine, DAY)).values()] == ["DELL E2216H"]
    assert _monitor_states(_state(engine, DAY))["DELL E2216H"].first_seen == T0
    assert len(_monitors(engine)) == 1


def test_a_late_report_between_two_others_leaves_the_monitors_of_the_next_one(
        engine: Engine, units: tuple[int, int]) -> None:
    p1, _ = units
    _send(engine, _report("a", T0, [DELL]), p1)
    _send(engine, _report("a", T0 + timedelta(days=2), [DELL]), p1)  # unchanged: not stored
    late = _send(engine, _report("a", T0 + timedelta(days=1), [], av_enabled=False), p1)  # a day without it
    assert late.stored
    middle, after = _state(engine, DAY + timedelta(days=1)), _state(engine, DAY + timedelta(days=2))
    assert _monitor_states(middle)["DELL E2216H"].host_id is None
    assert _monitor_states(middle)["DELL E2216H"].last_seen == T0
    again = _monitor_states(after)["DELL E2216H"]
    assert again.host_id is not None and again.last_seen == T0 + timedelta(days=2)


@pytest.mark.dates
@pytest.mark.parametrize("now", [datetime(2026, 12, 1, 16, 59, tzinfo=timezone.utc),  # 23:59 in the district
                                 datetime(2026, 12, 1, 17, 1, tzinfo=timezone.utc)])  # 00:01 the next day there
def test_a_hand_entered_monitor_is_the_same_device(engine: Engine, units: tuple[int, int], tmp_path: Path,
                                                  now: datetime) -> None:
    with time_machine.travel(now):  # the clock runs on from an hour where UTC's and HCM's dates differ
        p1, x1 = units
        sheet = tmp_path / "assets.csv"
        sheet.write_text("unit,kind,name,vendor,model,serial,purchased_on\n"
                         "X1,monitor,Màn hình một cửa,Dell,E2216H,CN0XV9NP7426,2015-03-01\n", encoding="utf-8")
        assert not import_assets(engine, sheet, "test").errors
        _send(engine, _report("a", T0, [DELL]), p1)
        [monitor] = _monitors(engine)
        assert (monitor.name, monitor.edid_key, monitor.unit_id) == ("Màn hình một cửa", "DEL|CN0XV9NP7426", x1)
        state = _monitor_states(_state(engine, DAY))["E2216H"]
        assert state.unit_code == "P1"  # agents show it on a computer of P1
        assessment = coverage_for(_state(engine, DAY), Policy()).assessments[state.id]
        assert assessment.age_source == "purchase_record" and state.monitor_year == 2016
        # And an import after the agent saw it updates that device.
        sheet.write_text("unit,kind,name,serial,status\nX1,monitor,Màn hình cũ,cn0xv9np7426,spare\n", encoding="utf-8")
        assert not import_assets(engine, sheet, "test").errors
        [monitor] = _monitors(engine)
        assert (monitor.name, monitor.status, monitor.unit_id) == ("Màn hình cũ", "spare", x1)
        # The officer's word is newer than the agents' sighting: it holds from then on.
        # the district's today, as the product computes it: the machine's own date is a day behind in HCM
        # from 17:00 to 24:00 UTC, when the import made a moment ago is still in the future of its end of day
        today = _monitor_states(_state(engine, local_today(report_timezone())))["E2216H"]
        assert (today.id, today.unit_code, today.status) == (monitor.id, "X1", "spare")


def test_one_new_monitor_reported_by_many_computers_at_once_is_one_device(
        engine: Engine, units: tuple[int, int]) -> None:
    p1, _ = units
    for n in range(6):  # the computers exist; their next reports all show the same new monitor
        _send(engine, _report(f"m{n}", T0, []), p1)
    reports = [_report(f"m{n}", T0 + timedelta(hours=1), [DELL]) for n in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda r: _send(engine, r, p1), reports))
    assert all(r.status == "accepted" and r.stored for r in results)
    assert len(_monitors(engine)) == 1 and _count(engine, MonitorSighting) == 6
