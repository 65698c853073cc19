"""Matching reports to devices, history only on change, and late reports."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from server.db import reading, writing
from server.models import Device, Observation, ReceivedReport, table_of
from server.services.enrolment import enrol_offline
from server.services.ingest import Delivery, IngestResult, UnplacedDevice, device_kind, normalised_facts, receive
from server.services.records import normalise_serial, save_device
from shared.schema import InventoryReport
from tests.server.factories import T0, make_report, make_unit


@pytest.fixture
def unit(engine: Engine) -> int:
    return make_unit(engine)


def _send(engine: Engine, report: InventoryReport, unit: int | None, **kw: object) -> IngestResult:
    delivery = Delivery(unit_id=unit, **kw)  # type: ignore[arg-type]
    return receive(engine, report, lambda _s: delivery)


def _devices(engine: Engine) -> list[Device]:
    with reading(engine) as session:
        return list(session.exec(select(Device).order_by(Device.id)))  # type: ignore[arg-type]


def test_reinstalled_agent_is_matched_by_machine_id(engine: Engine, unit: int) -> None:
    first = _send(engine, make_report("uuid-A", serial=None), unit)
    again = _send(engine, make_report("uuid-A", serial=None, collected_at=T0 + timedelta(days=1)), unit)
    assert first.device_id == again.device_id and len(_devices(engine)) == 1


def test_new_machine_id_same_serial_is_a_possible_duplicate_not_a_takeover(engine: Engine, unit: int) -> None:
    """A serial is copied easily: another machine id with it never takes the agent's device over."""
    first = _send(engine, make_report("generated-1", serial="CN0ABC123"), unit)
    again = _send(engine, make_report("generated-2", serial=" cn0abc123 ", collected_at=T0 + timedelta(days=1)), unit)
    assert first.device_id != again.device_id
    old, new = _devices(engine)
    assert (old.machine_id, old.reports_received, old.possible_duplicate_of) == ("generated-1", 1, None)
    assert (new.machine_id, new.possible_duplicate_of) == ("generated-2", old.id)


def test_placeholder_serials_never_match(engine: Engine, unit: int) -> None:
    for n, serial in enumerate(("To Be Filled By O.E.M.", "Default string", "0000000000", "System Serial Number")):
        _send(engine, make_report(f"m-{n}", serial=serial), unit)
    assert len(_devices(engine)) == 4
    assert normalise_serial("To be filled by O.E.M.") is None and normalise_serial("PC1X2Y3") == "PC1X2Y3"


def test_agent_adopts_a_hand_entered_computer_by_serial(engine: Engine, unit: int) -> None:
    with writing(engine) as session:
        save_device(session, Device(unit_id=unit, kind="desktop", name="Máy kế toán", serial="SN-1001",
                                    serial_key="SN-1001"), T0 - timedelta(days=30))
    _send(engine, make_report("m-1", serial="SN-1001"), unit)
    [device] = _devices(engine)
    assert device.name == "Máy kế toán" and device.machine_id == "m-1"


def test_offline_enrolled_device_gets_its_first_report(engine: Engine, unit: int) -> None:
    with writing(engine) as session:
        enrolment = enrol_offline(session, "UBND", "Máy mật", actor="test")
        device_id = session.exec(select(Device.id)).one()
    result = _send(engine, make_report("airgap-1", serial=None, reachable=False), unit, via="import",
                   agent_id=enrolment.agent_id, agent_device_id=device_id)
    assert result.device_id == device_id and len(_devices(engine)) == 1
    assert _devices(engine)[0].air_gapped


def test_unchanged_report_stores_nothing_new_and_volatile_fields_do_not_count(engine: Engine, unit: int) -> None:
    a = make_report(collected_at=T0)
    b = make_report(collected_at=T0 + timedelta(hours=4))  # new report_id, boot time, check time
    assert normalised_facts(a)[1] == normalised_facts(b)[1]
    assert _send(engine, a, unit).stored and not _send(engine, b, unit).stored
    c = make_report(collected_at=T0 + timedelta(hours=8), bios_date=None)
    assert _send(engine, c, unit).stored
    with reading(engine) as session:
        assert len(session.exec(select(Observation)).all()) == 2
        assert len(session.exec(select(ReceivedReport)).all()) == 3


def test_late_report_is_compared_with_what_held_then(engine: Engine, unit: int) -> None:
    _send(engine, make_report(collected_at=T0, av_enabled=True), unit)
    _send(engine, make_report(collected_at=T0 + timedelta(days=2), av_enabled=False), unit)
    late_same = _send(engine, make_report(collected_at=T0 + timedelta(days=1), av_enabled=True), unit)
    late_new = _send(engine, make_report(collected_at=T0 + timedelta(days=1, hours=1), hostname="pc-x"), unit)
    assert not late_same.stored and late_new.stored
    [device] = _devices(engine)
    assert device.hostname == "pc-1"  # the newest report still names the machine
    assert device.last_seen == T0 + timedelta(days=2) and device.first_seen == T0


def test_earliest_bios_date_survives_a_firmware_update(engine: Engine, unit: int) -> None:
    from datetime import date

    _send(engine, make_report(collected_at=T0, bios_date=date(2014, 6, 1)), unit)
    _send(engine, make_report(collected_at=T0 + timedelta(days=1), bios_date=date(2021, 2, 1)), unit)
    assert _devices(engine)[0].earliest_bios_date == date(2014, 6, 1)


def test_unknown_machine_without_unit_is_refused_and_nothing_written(engine: Engine, unit: int) -> None:
    with pytest.raises(UnplacedDevice):
        _send(engine, make_report(), None)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table_of(Device))).scalar_one() == 0


def test_device_kind_from_chassis() -> None:
    assert device_kind(make_report()) == "desktop"
    laptop = make_report(hardware={"chassis": "laptop"})
    vm = make_report(hardware={"chassis": "virtual"})
    server = make_report(os={"is_server": True})
    assert (device_kind(laptop), device_kind(vm), device_kind(server)) == ("laptop", "other", "server")
