"""Detections: stored once per device and id, a history of status changes, late reports, replays, as of a date."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.db import reading
from server.models import Detection, DetectionEvent, Observation, table_of
from server.services.coverage import coverage_for
from server.services.detections import period_start
from server.services.history import snapshot
from server.services.ingest import Delivery, IngestResult, receive
from server.services.ingest_writer import IngestWriter
from server.services.policy import Policy
from shared.schema import InventoryReport
from tests.server.factories import T0, make_report, make_unit

pytestmark = pytest.mark.dates


def threat(key: str = "1001", status: str = "active", *, action: str | None = "quarantine",
           severity: str = "severe", detected: datetime = T0 - timedelta(hours=2)) -> dict[str, Any]:
    """A Defender detection as the agent sends it."""
    return {
        "id": key, "threat": "Trojan:Win32/Wacatac.B!ml", "category": "Trojan", "severity": severity,
        "detected_at": detected.isoformat(), "resources": [r"file:_C:\Users\ketoan\Downloads\hoadon.exe"],
        "action": action, "action_success": status == "remediated" if status != "active" else None,
        "status": status, "source": "defender", "product": "Microsoft Defender Antivirus",
    }


def report(at: datetime, *items: dict[str, Any], readable: bool | None = True, machine: str = "machine-1",
           **kw: Any) -> InventoryReport:
    detections = None if readable is None else {
        "readable": readable, "sources": ["defender"] if readable else [], "items": list(items)}
    return make_report(machine, collected_at=at, detections=detections, **kw)


def send(engine: Engine, rep: InventoryReport, unit: int, now: datetime = T0 + timedelta(days=60)) -> IngestResult:
    return receive(engine, rep, lambda _c: Delivery(unit_id=unit), now=now)


def rows(engine: Engine) -> tuple[list[Any], list[Any]]:
    with engine.connect() as conn:
        found = conn.execute(sa.select(table_of(Detection)).order_by(table_of(Detection).c.id)).all()
        e = table_of(DetectionEvent).c
        events = conn.execute(sa.select(table_of(DetectionEvent)).order_by(e.detection_id, e.observed_at)).all()
    return list(found), list(events)


@pytest.fixture
def unit(engine: Engine) -> int:
    return make_unit(engine)


def test_a_detection_repeated_by_many_reports_is_stored_once_with_its_changes(engine: Engine, unit: int) -> None:
    send(engine, report(T0, threat()), unit)
    send(engine, report(T0 + timedelta(hours=1), threat(), hostname="pc-1b"), unit)  # facts changed, not it
    send(engine, report(T0 + timedelta(days=1), threat(status="remediated")), unit)
    found, events = rows(engine)
    assert len(found) == 1
    assert found[0].status == "remediated" and found[0].status_since == T0 + timedelta(days=1)
    assert found[0].first_reported_at == T0 and found[0].threat == "Trojan:Win32/Wacatac.B!ml"
    assert [(e.status, e.observed_at) for e in events] == [("active", T0), ("remediated", T0 + timedelta(days=1))]


def test_replaying_the_same_report_writes_nothing(engine: Engine, unit: int) -> None:
    first = report(T0, threat(), threat("1002", "failed", action="remove"))
    assert send(engine, first, unit).status == "accepted"
    before = rows(engine)
    assert send(engine, first, unit).status == "duplicate"
    writer = IngestWriter(engine, writers=1)
    try:
        assert writer.submit(first, lambda _c: Delivery(unit_id=unit)).result(timeout=30).status == "duplicate"
    finally:
        writer.stop()
    assert rows(engine) == before and len(before[1]) == 2


def test_reports_through_the_batch_writer_store_detections(engine: Engine, unit: int) -> None:
    writer = IngestWriter(engine, writers=1)
    try:
        futures = [writer.submit(report(T0 + timedelta(hours=n), threat(status=s), machine=f"m-{n}",
                                        serial=f"S-{n}"), lambda _c: Delivery(unit_id=unit))
                   for n, s in enumerate(("active", "remediated", "failed"))]
        assert [f.result(timeout=30).status for f in futures] == ["accepted"] * 3
    finally:
        writer.stop()
    found, events = rows(engine)
    assert sorted(d.status for d in found) == ["active", "failed", "remediated"] and len(events) == 3


def test_a_late_report_never_moves_the_state_backwards(engine: Engine, unit: int) -> None:
    send(engine, report(T0, threat()), unit)
    send(engine, report(T0 + timedelta(days=2), threat(status="remediated"), hostname="pc-x"), unit)
    # Collected in between, carried in afterwards: still active then.
    send(engine, report(T0 + timedelta(days=1), threat(status="failed", action="remove"), hostname="pc-y"), unit)
    found, events = rows(engine)
    assert found[0].status == "remediated" and found[0].status_since == T0 + timedelta(days=2)
    assert [e.status for e in events] == ["active", "failed", "remediated"]


def test_a_late_report_is_followed_by_what_the_next_report_said(engine: Engine, unit: int) -> None:
    send(engine, report(T0, threat()), unit)
    send(engine, report(T0 + timedelta(days=2), threat()), unit)  # unchanged: no observation, no event
    send(engine, report(T0 + timedelta(days=1), threat(status="remediated"), hostname="pc-z"), unit)
    found, events = rows(engine)
    assert found[0].status == "active"
    assert [(e.status, e.observed_at) for e in events] == [
        ("active", T0), ("remediated", T0 + timedelta(days=1)), ("active", T0 + timedelta(days=2))]


def test_observation_says_whether_the_history_was_readable(engine: Engine, unit: int) -> None:
    send(engine, report(T0, readable=None), unit)
    send(engine, report(T0 + timedelta(days=1), readable=False), unit)
    send(engine, report(T0 + timedelta(days=2)), unit)
    with engine.connect() as conn:
        o = table_of(Observation).c
        flags = conn.execute(sa.select(o.detections_readable).order_by(o.observed_at)).scalars().all()
    assert [None if f is None else bool(f) for f in flags] == [None, False, True]


def test_figures_as_of_several_dates(engine: Engine, unit: int) -> None:
    make_unit(engine, "XA-01", kind="commune", parent="UBND")
    commune = make_unit(engine, "XA-02", kind="commune", parent="UBND")
    send(engine, report(T0, threat(), threat("2", "remediated", severity="low")), unit)
    send(engine, report(T0, machine="m-2", serial="S-2"), commune)  # readable, nothing found
    send(engine, report(T0, readable=False, machine="m-3", serial="S-3"), commune)  # detections unknown
    send(engine, report(T0 + timedelta(days=10), threat(status="remediated"), threat("2", "remediated",
                                                                                    severity="low")), unit)

    def figures(day: date, code: str | None = None) -> dict[str, Any]:
        with reading(engine) as session:
            cov = coverage_for(snapshot(session, day), Policy(), code)
        return {k: cov.figures[k].as_json() for k in ("computers_with_detections", "detections_unremediated")}

    before = figures(T0.date() - timedelta(days=1))
    assert before["computers_with_detections"]["denominator"] == 0  # no history read yet: no data
    first = figures(T0.date())
    assert first["computers_with_detections"] | {"items": None} == {
        "numerator": 1, "denominator": 2, "percent": 50.0, "items": None,
        "detail": {"unreadable": 1, "found": 2, "remediated": 1, "severity:severe": 1, "severity:low": 1}}
    assert (first["detections_unremediated"]["numerator"], first["detections_unremediated"]["denominator"]) == (1, 2)
    later = figures(T0.date() + timedelta(days=10))
    assert later["detections_unremediated"]["numerator"] == 0
    assert later["computers_with_detections"]["detail"]["remediated"] == 2
    # The next year's period: the remediated detections are behind it.
    next_year = figures(date(T0.year + 1, 2, 1))
    assert next_year["computers_with_detections"]["numerator"] == 0
    assert next_year["detections_unremediated"]["denominator"] == 0
    # Per unit: the commune has readable computers but nothing found; the district's own PC has the detections.
    assert figures(T0.date(), "XA-02")["computers_with_detections"]["numerator"] == 0
    assert figures(T0.date(), "XA-02")["computers_with_detections"]["denominator"] == 1
    assert period_start(date(2024, 5, 18)) == date(2024, 1, 1)


def test_figures_are_rebuilt_after_later_reports(engine: Engine, unit: int) -> None:
    send(engine, report(T0, threat()), unit)
    with reading(engine) as session:
        then = coverage_for(snapshot(session, T0.date()), Policy()).figures["detections_unremediated"]
    send(engine, report(T0 + timedelta(days=1), threat(status="remediated")), unit)
    with reading(engine) as session:
        again = coverage_for(snapshot(session, T0.date()), Policy()).figures["detections_unremediated"]
    assert then == again and then.numerator == 1


def test_a_version_1_report_collects_no_detections(engine: Engine, unit: int) -> None:
    send(engine, make_report(collected_at=T0, schema_version=1), unit)
    assert rows(engine) == ([], [])
    with reading(engine) as session:
        fig = coverage_for(snapshot(session, T0.date()), Policy()).figures["computers_with_detections"]
    assert (fig.denominator, fig.detail) == (0, {"unreadable": 1})


def test_time_zone_of_the_period(engine: Engine, unit: int) -> None:
    # 31 Dec 18:00 UTC is already 1 January in Asia/Ho_Chi_Minh: found in the new year's period.
    at = datetime(2024, 12, 31, 18, 0, tzinfo=timezone.utc)
    send(engine, report(at, threat(detected=at - timedelta(hours=1))), unit, now=at + timedelta(hours=1))
    with reading(engine) as session:
        fig = coverage_for(snapshot(session, date(2025, 1, 1)), Policy()).figures["computers_with_detections"]
    assert fig.detail.get("found") == 1


def test_concurrent_reports_of_one_pc_store_one_event_per_change(engine: Engine, unit: int) -> None:
    """Reports of one PC written at once by several threads (several server processes on PostgreSQL): the
    detection is stored once and its change of status once."""
    from concurrent.futures import ThreadPoolExecutor

    send(engine, report(T0, threat(), threat("2")), unit)  # both active; then eight reports say removed, at once
    reports = [report(T0 + timedelta(minutes=n), threat(status="remediated"), threat("2", "remediated"),
                      hostname=f"h{n}") for n in range(1, 9)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda r: send(engine, r, unit).status, reports))
    assert outcomes == ["accepted"] * 8
    found, events = rows(engine)
    assert len(found) == 2 and {d.status for d in found} == {"remediated"}
    assert [(e.detection_id, e.status) for e in events] == [
        (found[0].id, "active"), (found[0].id, "remediated"), (found[1].id, "active"), (found[1].id, "remediated")]
