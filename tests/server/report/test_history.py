"""A report for an earlier cut-off, rebuilt from the database, is unchanged after later reports arrive."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from server.db import reading, writing
from server.models import OrgUnit
from server.report import render
from server.report.generate import ReportRequest, keep, make_report
from server.report.store import clear
from server.services.ingest import Delivery, receive
from server.services.policy import Policy
from server.services.records import save_unit
from shared.schema import InventoryReport
from tests.server.factories import T0, make_unit
from tests.server.factories import make_report as agent_report

pytestmark = pytest.mark.dates  # cut-off days end at local midnight: run again under another TZ

DAY = T0.date()  # 01/05/2024


@pytest.fixture(autouse=True)
def report_tables(engine: Engine) -> None:
    """The report's own tables, empty (PostgreSQL test databases are shared between tests)."""
    clear(engine)


def _deliver(engine: Engine, report: InventoryReport, unit_id: int) -> None:
    assert receive(engine, report, lambda _s: Delivery(via="http", unit_id=unit_id)).status == "accepted"


def _report(engine: Engine, as_of: date, fmt: str = "md") -> str:
    with reading(engine) as session:
        document = make_report(session, ReportRequest(as_of=as_of), Policy())
    if fmt == "json":
        data = json.loads(render(document, "json"))
        data.pop("generated_at")  # the only thing that may differ between two runs
        return json.dumps(data, ensure_ascii=False, sort_keys=True)
    return render(document, "md").decode()


def test_earlier_report_unchanged_after_later_reports(engine: Engine) -> None:
    make_unit(engine, "UBND", staff=None)
    commune = make_unit(engine, "XA-01", kind="commune", parent="UBND", name="Xã Tân Bình", staff=4, lan=True,
                        internet="fibre")
    _deliver(engine, agent_report("m-1", hostname="xa-01", collected_at=T0), commune)
    _deliver(engine, agent_report("m-2", hostname="xa-02", serial="SN-2", collected_at=T0), commune)
    before_md, before_json = _report(engine, DAY), _report(engine, DAY, "json")
    assert "Cán bộ, công chức, viên chức được trang bị máy tính để làm việc: 50,00% (2/4)." in before_md
    assert "Máy tính có chương trình diệt virus đang bật: 100,00% (2/2)." in before_md

    # later: antivirus switched off on one PC, a third PC reports, a new commune is created, a report is kept
    later = T0 + timedelta(days=20)
    _deliver(engine, agent_report("m-1", hostname="xa-01", collected_at=later, av_enabled=False), commune)
    _deliver(engine, agent_report("m-3", hostname="xa-03", serial="SN-3", collected_at=later), commune)
    make_unit(engine, "XA-02", kind="commune", parent="UBND", staff=6, at=later)
    with reading(engine) as session:
        kept = make_report(session, ReportRequest(as_of=later.date()), Policy())
    with writing(engine) as session:
        keep(session, kept)

    assert _report(engine, DAY) == before_md
    assert _report(engine, DAY, "json") == before_json
    now = _report(engine, later.date())
    assert "Máy tính có chương trình diệt virus đang bật: 66,67% (2/3)" in now
    assert "Cán bộ, công chức, viên chức được trang bị máy tính để làm việc: 30,00% (3/10)" in now


def test_report_says_when_inputs_were_corrected_later(engine: Engine) -> None:
    make_unit(engine, "UBND", staff=None)
    commune = make_unit(engine, "XA-01", kind="commune", parent="UBND", name="Xã Tân Bình", staff=4)
    _deliver(engine, agent_report("m-1", collected_at=T0), commune)
    assert "điều chỉnh" not in _report(engine, DAY)
    corrected_at = T0 + timedelta(days=40)
    with writing(engine) as session:
        unit = session.exec(select(OrgUnit).where(OrgUnit.code == "XA-01")).one()
        unit.staff = 5
        save_unit(session, unit, corrected_at)
    text = _report(engine, DAY)
    assert "Lưu ý: số liệu đã được điều chỉnh sau ngày 01/05/2024 (lần điều chỉnh gần nhất ngày 10/06/2024)" in text
    # the cut-off keeps the headcount it had then
    assert "trang bị máy tính để làm việc: 25,00% (1/4)." in text


def test_compared_with_the_previous_kept_period(engine: Engine) -> None:
    make_unit(engine, "UBND", staff=None)
    commune = make_unit(engine, "XA-01", kind="commune", parent="UBND", staff=4)
    _deliver(engine, agent_report("m-1", collected_at=T0), commune)
    with reading(engine) as session:
        first = make_report(session, ReportRequest(as_of=DAY), Policy())
    with writing(engine) as session:
        keep(session, first, trigger="schedule")
    later = T0 + timedelta(days=30)
    _deliver(engine, agent_report("m-2", serial="SN-2", collected_at=later), commune)
    text = _report(engine, later.date())
    assert ("trang bị máy tính để làm việc: 50,00% (2/4), tăng 25,00 điểm phần trăm so với kỳ trước "
            "(25,00% (1/4)).") in text
    assert "Kỳ trước dùng để so sánh: số liệu đến ngày 01/05/2024." in text
