"""What a report changes, decided without a database: ``ingest_plan.plan``."""

from __future__ import annotations

import uuid
from datetime import timedelta

from server.services.facts import MonitorFacts
from server.services.ingest_plan import (
    NAME_LENGTH,
    Current,
    DeviceRow,
    Sender,
    WritePlan,
    new_computer,
    normalised_facts,
    plan,
)
from shared.schema import InventoryReport
from tests.server.factories import ENROLLED_AT, T0, make_report

AGENT = uuid.UUID("00000000-0000-4000-8000-000000000001")
SENDER = Sender("http", AGENT, True, None, ENROLLED_AT)
NOW = T0 + timedelta(minutes=5)
DELL = {"manufacturer": "DEL", "model": "P2419H", "serial": "CN0ABC", "year_of_manufacture": 2019}


def _device(**kw: object) -> DeviceRow:
    values: dict[str, object] = {"id": 7, "machine_id": "machine-1", "last_hash": None, "last_seen": None,
                                 "created_at": T0 - timedelta(days=3), "monitor_key": None, "monitor_ids": None,
                                 "unit_id": 1}
    values.update(kw)
    return DeviceRow(**values)  # type: ignore[arg-type]


def _plan(report: InventoryReport, device: DeviceRow | None = None, **current: object) -> WritePlan:
    return plan(report, Current(device or _device(), **current), SENDER, NOW)  # type: ignore[arg-type]


def test_first_report_of_a_device_stores_an_observation_and_moves_every_latest_column() -> None:
    report = make_report()
    write = _plan(report)
    _, digest = normalised_facts(report)
    assert write.stored and write.in_order and not write.clock_wrong and not write.backdate
    assert write.report.stored and write.report.device_id == 7 and write.report.collected_at == T0
    assert write.device == (7, T0, None, report.hardware.bios_date, "pc-1", digest, None, None)
    assert write.agent == (AGENT, NOW, 7, "machine-1")
    assert write.observation is not None and write.observation.content_hash == digest
    values = write.observation.values()
    assert (values["hostname"], values["firewall_enabled"], values["observed_at"]) == ("pc-1", True, T0)


def test_unchanged_facts_only_count_the_report() -> None:
    report = make_report()
    _, digest = normalised_facts(report)
    again = make_report(collected_at=T0 + timedelta(hours=4))
    write = plan(again, Current(_device(last_hash=digest, last_seen=T0)), SENDER, T0 + timedelta(hours=5))
    assert not write.stored and not write.report.stored and write.observation is None
    assert write.device.digest is None and write.device.hostname == "pc-1"


def test_a_wrong_clock_is_filed_at_receipt_and_stored_as_a_change() -> None:
    report = make_report(collected_at=T0 - timedelta(days=900))
    _, digest = normalised_facts(report)
    write = _plan(report, _device(last_hash=digest))
    assert write.clock_wrong and write.filed == NOW and write.stored
    assert write.report.claimed_collected_at == report.collected_at.isoformat()
    assert write.observation is not None and write.observation.record.clock_wrong


def test_a_late_report_is_compared_with_what_held_then_and_moves_no_latest_column() -> None:
    late = make_report(collected_at=T0 - timedelta(hours=2))
    _, digest = normalised_facts(late)
    same = _plan(late, _device(last_hash="other", last_seen=T0), previous_hash=digest, previous_id=3)
    assert not same.in_order and not same.stored and not same.keep_next
    changed = _plan(late, _device(last_hash=digest, last_seen=T0), previous_hash="older", previous_id=3)
    assert changed.stored and changed.keep_next
    assert changed.device.digest is None and changed.device.hostname is None


def test_a_report_collected_before_the_device_was_recorded_backdates_it() -> None:
    write = _plan(make_report(), _device(created_at=T0 + timedelta(minutes=1)))
    assert write.backdate
    assert not plan(make_report(), Current(_device(created_at=T0 + timedelta(minutes=1)), created=True), SENDER,
                    NOW).backdate


def test_the_same_monitors_come_from_the_device_cache_others_are_looked_up() -> None:
    report = make_report(peripherals={"monitors": [DELL]})
    key = MonitorFacts.from_wire(report.peripherals).key
    cached = _plan(report, _device(monitor_key=key, monitor_ids="41"))
    assert cached.monitors is not None and cached.monitors.ids == (41,)
    assert [tuple(s) for s in cached.sightings] == [(41, 2019)]
    assert (cached.device.monitor_key, cached.device.monitor_ids) == (key, "41")
    other = _plan(report, _device(monitor_key="another set", monitor_ids="12"))
    assert other.monitors is not None and other.monitors.ids is None and other.sightings == ()
    resolved = other.with_monitors([55])
    assert resolved.device.monitor_ids == "55" and [tuple(s) for s in resolved.sightings] == [(55, 2019)]


def test_an_offline_enrolment_device_learns_its_machine_id() -> None:
    write = _plan(make_report(), _device(machine_id=None))
    assert write.device.machine == "machine-1"


def test_detections_readable_is_planned_from_the_report() -> None:
    absent = _plan(make_report())
    assert absent.observation is not None and absent.observation.values()["detections_readable"] is None
    read = _plan(make_report(detections={"readable": True, "sources": ["defender"]}))
    assert read.observation is not None and read.observation.values()["detections_readable"] is True


def test_a_new_computer_is_named_by_its_hostname_cut_to_the_name_column() -> None:
    """A 512-character hostname is valid on the wire; the device's name column holds 256 (PostgreSQL refused)."""
    long = "h" * 400
    new = new_computer(make_report(hostname=long), 1, T0, None)
    assert (new.name, new.hostname, NAME_LENGTH) == ("h" * 256, long, 256)
