"""The overview's history: each figure's trend over the kept report periods, the replacement chart's overdue
column, the kept reports listed and downloaded within reach; the units page keeps own and subtree apart."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient

from server.clock import local_today, utcnow
from server.db import reading, writing
from server.report.generate import ReportRequest, keep, make_report
from server.services.policy import Policy
from tests.server.console.conftest import sign_in
from tests.server.console.test_device_page import _audit, _coverage, _engine


def _keep(client: TestClient, days_ago: int, unit: str | None = None) -> int:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    day = local_today(settings.tz) - timedelta(days=days_ago)
    with reading(_engine(client)) as session:
        document = make_report(session, ReportRequest(as_of=day, unit_code=unit, lang="vi"),
                               Policy.from_settings(settings), settings.tz)
    with writing(_engine(client)) as session:
        kept = keep(session, document, trigger="schedule")
        assert kept.id is not None
        return kept.id


@pytest.mark.dates
def test_figures_show_their_trend_and_kept_reports_are_listed(admin: TestClient) -> None:
    # The seeded district's records start today: keep today's report and another, then look ten days later.
    first, second = _keep(admin, 60), _keep(admin, 0)
    day = local_today(admin.app.state.settings.tz).strftime("%d/%m/%Y")  # type: ignore[attr-defined]
    with time_machine.travel(utcnow() + timedelta(days=10)):
        admin.cookies.clear()
        assert sign_in(admin, "admin") == 303  # the day's session has ended by then
        page = admin.get("/").text
        unit_page = admin.get("/?unit=PB01").text
    assert page.count('<svg class="spark"') >= 10  # the main figures, from the kept periods with data
    assert re.search(rf'aria-label="Xu hướng qua các kỳ báo cáo đã lưu: [0-9/]+: —; {day}: [0-9,]+%', page)
    assert f'href="/reports/kept/{first}?format=docx"' in page and f'href="/reports/kept/{second}?format=md"' in page
    assert "theo lịch" in page
    assert sign_in(admin, "admin") == 303
    markdown = admin.get(f"/reports/kept/{second}?format=md")
    assert markdown.status_code == 200 and markdown.headers["content-disposition"].startswith("attachment")
    assert _audit(admin, "console.report")[-1]["kept"] == second
    # A unit's overview draws the unit's own line from the whole tree's kept reports.
    assert '<svg class="spark"' in unit_page


def test_kept_reports_are_read_within_reach_only(app_client: TestClient) -> None:
    assert sign_in(app_client, "admin") == 303
    district, commune = _keep(app_client, 0), _keep(app_client, 0, unit="X01")
    app_client.cookies.clear()
    assert sign_in(app_client, "xa") == 303  # the viewer of X01
    assert app_client.get(f"/reports/kept/{commune}").status_code == 200
    assert app_client.get(f"/reports/kept/{district}").status_code == 404  # the whole tree is out of reach
    assert f"/reports/kept/{district}" not in app_client.get("/").text


def test_the_replacement_chart_starts_with_what_is_overdue(admin: TestClient) -> None:
    overdue = _coverage(admin).figures["past_service_life"].numerator
    assert overdue > 0
    page = admin.get("/").text
    assert 'class="fill overdue"' in page and ">Đã quá hạn</text>" in page
    assert f"Cột đầu: {overdue:,}".replace(",", ".") in page


def test_units_keep_their_own_devices_and_their_subtree_apart(admin: TestClient) -> None:
    page = admin.get("/units").text
    assert "Của riêng đơn vị" in page and "Cả đơn vị và các đơn vị cấp dưới" in page
    cov = _coverage(admin)
    total = cov.figures["past_service_life"].denominator  # devices in use in the whole tree
    subtree = [int(n.replace(".", "")) for n in re.findall(r'<td class="num subtree">([0-9.]+)</td>', page)]
    assert max(subtree) == total  # the root's subtree holds every device in use
