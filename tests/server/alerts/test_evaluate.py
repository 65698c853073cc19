"""Each rule opens an alert, a fixed report or evaluation resolves it, and nothing is opened twice."""

from __future__ import annotations

import json
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from server.alerts.config import AlertSettings
from server.alerts.evaluate import evaluate_all, evaluate_devices
from server.alerts.rules import Condition
from server.alerts.schedule import run_evaluation_job
from server.alerts.store import _ALERT, reconcile
from server.db import writing
from server.models import AntivirusLicence, Detection
from server.services.records import save_licence
from tests.server.alerts.world import NOW, POLICY, alerts, report, send, set_air_gapped, unit_id

pytestmark = pytest.mark.dates
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _arrive(engine: Engine, unit: str, *args: object, **kw: object) -> int:
    result = send(engine, unit, report(*args, **kw))  # type: ignore[arg-type]
    assert result.device_id is not None
    evaluate_devices(engine, POLICY, TZ, [result.device_id])
    return result.device_id


def _live(engine: Engine, rule: str) -> list[dict[str, object]]:
    return [a for a in alerts(engine, rule=rule) if a["state"] != "resolved"]


def test_antivirus_turned_off_opens_and_the_next_report_resolves(district: Engine,
                                                                 frozen: time_machine.Coordinates) -> None:
    device = _arrive(district, "XA1", antivirus=[{"name": "Windows Defender", "enabled": False,
                                                  "up_to_date": True, "source": "security_center"}])
    [alert] = alerts(district, rule="antivirus_disabled")
    assert (alert["state"], alert["device_id"], alert["unit_id"]) == ("open", device, unit_id(district, "XA1"))
    assert json.loads(alert["detail"]) == {"products": ["Windows Defender"]}
    # the same state again: still one alert
    frozen.move_to(NOW + timedelta(hours=4))
    _arrive(district, "XA1", at=NOW + timedelta(hours=4), antivirus=[
        {"name": "Windows Defender", "enabled": False, "up_to_date": True, "source": "security_center"}])
    assert len(alerts(district, rule="antivirus_disabled")) == 1
    frozen.move_to(NOW + timedelta(hours=8))
    _arrive(district, "XA1", at=NOW + timedelta(hours=8))
    [alert] = alerts(district, rule="antivirus_disabled")
    assert alert["state"] == "resolved"
    assert alert["resolved_at"] == NOW + timedelta(hours=8)
    # switched off again: a new alert, the resolved one stays as history
    frozen.move_to(NOW + timedelta(hours=12))
    _arrive(district, "XA1", at=NOW + timedelta(hours=12), antivirus=[
        {"name": "Windows Defender", "enabled": False, "source": "security_center"}])
    assert [a["state"] for a in alerts(district, rule="antivirus_disabled")] == ["resolved", "open"]


def test_signatures_older_than_the_policy(district: Engine, frozen: time_machine.Coordinates) -> None:
    old = (NOW - timedelta(days=POLICY.signature_max_age_days + 2)).isoformat()
    _arrive(district, "XA1", antivirus=[{"name": "Windows Defender", "enabled": True, "up_to_date": True,
                                         "signatures_updated_at": old, "source": "defender"}])
    assert len(_live(district, "antivirus_out_of_date")) == 1
    fresh = (NOW - timedelta(days=1)).isoformat()
    frozen.move_to(NOW + timedelta(hours=1))
    _arrive(district, "XA1", at=NOW + timedelta(hours=1), antivirus=[
        {"name": "Windows Defender", "enabled": True, "signatures_updated_at": fresh, "source": "defender"}])
    assert _live(district, "antivirus_out_of_date") == []


def test_classified_pc_reaching_the_internet(district: Engine, frozen: time_machine.Coordinates) -> None:
    device = _arrive(district, "XA2", reachable=False)
    set_air_gapped(district, device, NOW)
    evaluate_all(district, POLICY, TZ)
    assert _live(district, "air_gap_violation") == []
    frozen.move_to(NOW + timedelta(hours=1))
    _arrive(district, "XA2", at=NOW + timedelta(hours=1), reachable=True)
    [alert] = _live(district, "air_gap_violation")
    assert alert["device_id"] == device
    frozen.move_to(NOW + timedelta(hours=2))
    _arrive(district, "XA2", at=NOW + timedelta(hours=2), reachable=False)
    assert _live(district, "air_gap_violation") == []


def test_wrong_clock_and_silence(district: Engine, frozen: time_machine.Coordinates) -> None:
    device = _arrive(district, "XA1", at=NOW + timedelta(days=3))  # a clock three days ahead
    assert [a["device_id"] for a in _live(district, "clock_wrong")] == [device]
    frozen.move_to(NOW + timedelta(days=POLICY.stale_after_days + 2))
    evaluate_all(district, POLICY, TZ)
    assert [a["device_id"] for a in _live(district, "not_seen")] == [device]
    later = NOW + timedelta(days=POLICY.stale_after_days + 2, hours=1)
    frozen.move_to(later)
    _arrive(district, "XA1", at=later)
    assert _live(district, "not_seen") == []
    assert _live(district, "clock_wrong") == []


def test_a_detection_not_remediated(district: Engine, frozen: time_machine.Coordinates) -> None:
    device = _arrive(district, "XA1")
    with writing(district) as session:
        session.add(Detection(device_id=device, key="defender:2147735505", threat="Trojan:Win32/Wacatac.B!ml",
                              severity="severe", source="defender", first_reported_at=NOW, status="active",
                              status_since=NOW))
        session.add(Detection(device_id=device, key="defender:1", threat="PUA:Win32/Presenoker", severity="low",
                              source="defender", first_reported_at=NOW, status="remediated", status_since=NOW))
    evaluate_devices(district, POLICY, TZ, [device])
    [alert] = _live(district, "detection_unremediated")
    assert alert["subject"] == "defender:2147735505"
    assert json.loads(alert["detail"])["threat"] == "Trojan:Win32/Wacatac.B!ml"
    with writing(district) as session:
        session.execute(sa.update(Detection).values(status="failed"))
    evaluate_all(district, POLICY, TZ)
    assert len(alerts(district, rule="detection_unremediated")) == 2  # both failed now: one alert each
    with writing(district) as session:
        session.execute(sa.update(Detection).values(status="remediated"))
    evaluate_all(district, POLICY, TZ)
    assert _live(district, "detection_unremediated") == []


def test_licences_from_the_product_and_from_the_register(district: Engine, frozen: time_machine.Coordinates) -> None:
    today = date(2026, 12, 3)
    soon = (today + timedelta(days=12)).isoformat()
    expired = (today - timedelta(days=5)).isoformat()
    kes = _arrive(district, "XA1", "pc-kes", antivirus=[
        {"name": "Kaspersky Endpoint Security 12", "enabled": True, "signatures_updated_at": NOW.isoformat(),
         "source": "security_center", "licence_expires": soon, "licence_type": "commercial"}])
    eset = _arrive(district, "XA2", "pc-eset", antivirus=[
        {"name": "ESET Endpoint Antivirus", "enabled": True, "signatures_updated_at": NOW.isoformat(),
         "source": "security_center", "licence_expires": expired, "licence_type": "commercial"}])
    _arrive(district, "XA2", "pc-bkav", antivirus=[
        {"name": "Bkav Pro", "enabled": True, "signatures_updated_at": NOW.isoformat(), "source": "security_center"}])
    with writing(district) as session:
        licence = AntivirusLicence(product="Bkav Pro", seats=10, valid_from=date(2026, 1, 1),
                                   valid_to=today + timedelta(days=20), unit_id=unit_id(district, "XA2"))
        save_licence(session, licence, NOW - timedelta(days=30))
        other = AntivirusLicence(product="Bkav Pro", seats=5, valid_from=date(2026, 1, 1), valid_to=date(2027, 6, 30))
        save_licence(session, other, NOW - timedelta(days=30))
    assert _live(district, "licence_expiring") == []  # not decided as reports arrive: seats are district-wide
    evaluate_all(district, POLICY, TZ)
    expiring = {(a["device_id"], a["subject"]): json.loads(a["detail"]) for a in _live(district, "licence_expiring")}
    assert expiring == {
        (kes, "Kaspersky Endpoint Security 12"): {"days_left": 12, "ends": soon, "evidence": "product"},
        (None, f"licence:{licence.id}"): {"days_left": 20, "ends": (today + timedelta(days=20)).isoformat(),
                                          "evidence": "register", "product": "Bkav Pro", "seats": 10, "used": 1},
    }
    [expired_alert] = _live(district, "licence_expired")
    assert (expired_alert["device_id"], expired_alert["subject"]) == (eset, "ESET Endpoint Antivirus")
    # the register licence is renewed: its alert resolves
    with writing(district) as session:
        row = session.get(AntivirusLicence, licence.id)
        assert row is not None
        row.valid_to = date(2027, 12, 31)
        save_licence(session, row, NOW + timedelta(minutes=1))
    frozen.move_to(NOW + timedelta(minutes=2))
    evaluate_all(district, POLICY, TZ)
    assert [a["subject"] for a in _live(district, "licence_expiring")] == ["Kaspersky Endpoint Security 12"]


def test_one_live_alert_per_key_whoever_writes(district: Engine, frozen: time_machine.Coordinates) -> None:
    device = _arrive(district, "XA1")
    condition = Condition("antivirus_disabled", device, "XA1", "", {})
    with writing(district) as session:
        first = reconcile(session, [condition], rules={"antivirus_disabled"}, devices=[device], now=NOW)
    with writing(district) as session:
        again = reconcile(session, [condition], rules={"antivirus_disabled"}, devices=[device], now=NOW)
    assert len(first.opened) == 1 and again.opened == [] and again.resolved == []
    # another replica inserting the same live key (it read before this one wrote) is refused by the database
    with pytest.raises(IntegrityError), writing(district) as session:
        session.execute(sa.insert(_ALERT).values(key=condition.key, rule=condition.rule, device_id=device,
                                                  subject="", detail="{}", state="open", opened_at=NOW))
    assert len(_live(district, "antivirus_disabled")) == 1


def test_the_scheduled_evaluation_runs_once_per_slot(district: Engine, frozen: time_machine.Coordinates) -> None:
    _arrive(district, "XA1", antivirus=[{"name": "Windows Defender", "enabled": False, "source": "security_center"}])
    settings = AlertSettings(evaluate_minutes=60)
    first = run_evaluation_job(district, POLICY, TZ, settings)
    assert first is not None and first.opened == []  # the arrival already opened it
    assert run_evaluation_job(district, POLICY, TZ, settings) is None  # same hour: another replica's
    frozen.move_to(NOW + timedelta(hours=1))
    assert run_evaluation_job(district, POLICY, TZ, settings) is not None
    assert len(alerts(district)) == 1


def test_retired_devices_close_their_alerts(district: Engine, frozen: time_machine.Coordinates) -> None:
    device = _arrive(district, "XA1", antivirus=[{"name": "Windows Defender", "enabled": False,
                                                  "source": "security_center"}])
    from server.models import Device
    from server.services.records import save_device

    with writing(district) as session:
        row = session.get(Device, device)
        assert row is not None
        row.status = "retired"
        save_device(session, row, NOW + timedelta(minutes=1))
    frozen.move_to(NOW + timedelta(minutes=2))
    evaluate_all(district, POLICY, TZ)
    assert _live(district, "antivirus_disabled") == []


def test_evaluation_finds_what_the_figures_count(district: Engine, frozen: time_machine.Coordinates) -> None:
    """The alert rules and the figures judge the same snapshot the same way."""
    from server.db import reading
    from server.services.figures import figures_as_of

    _arrive(district, "XA1", "pc-1", antivirus=[{"name": "Windows Defender", "enabled": False,
                                                 "source": "security_center"}])
    _arrive(district, "XA2", "pc-2")
    _arrive(district, "XA2", "pc-3", at=NOW + timedelta(days=2))
    evaluate_all(district, POLICY, TZ)
    with reading(district) as session:
        cov = figures_as_of(session, date(2026, 12, 3), None, policy=POLICY, tz=TZ).coverage
    disabled = {a["device_id"] for a in _live(district, "antivirus_disabled")}
    enabled = cov.figures["antivirus_enabled"]
    assert disabled == {d for d, a in cov.assessments.items() if "antivirus_disabled" in a.issues}
    assert len(disabled) == enabled.denominator - enabled.numerator
    clock = {a["device_id"] for a in _live(district, "clock_wrong")}
    assert clock == {d for d, a in cov.assessments.items() if "clock_wrong" in a.issues}
