"""An administrator sees the open alerts on the overview, filters them and acknowledges one, in a real browser
against a real server (the rules evaluated over its database as the scheduled job does)."""

from __future__ import annotations

from typing import Any

import pytest

from server.alerts.evaluate import evaluate_all
from server.config import Settings
from server.db import make_engine
from server.services.policy import Policy
from tests.server.console.conftest import PASSWORDS

pytestmark = pytest.mark.slow


def test_admin_filters_and_acknowledges_an_alert(page: Any, server: tuple[str, Settings]) -> None:
    base, settings = server
    engine = make_engine(settings.url)
    evaluate_all(engine, Policy.from_settings(settings), settings.tz)
    engine.dispose()
    page.goto(base + "/login?lang=vi")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORDS["admin"])
    page.click("button.primary")
    page.wait_for_url(base + "/")
    badge = page.locator("#alerts-badge")
    assert int(badge.locator(".big").inner_text()) >= 1
    badge.click()
    page.wait_for_url(base + "/alerts")
    page.select_option("select[name=rule]", "air_gap_violation")
    page.click("form.filters button")
    page.wait_for_url(base + "/alerts?*rule=air_gap_violation*")
    rows = page.locator("table.alerts tbody tr")
    assert rows.count() == 1
    assert "Máy xử lý tài liệu mật kết nối Internet" in rows.first.inner_text()
    rows.first.locator("input[name=comment]").fill("Đã rút cáp mạng <ngay>")
    rows.first.locator("form.ack button").click()
    page.wait_for_url(base + "/alerts?acked=1")
    assert page.locator("p.notice").inner_text() == "Đã ghi nhận cảnh báo."
    state = page.locator("table.alerts td.alert-state").filter(has_text="Đã rút cáp mạng <ngay>")
    assert state.count() == 1 and "Đã ghi nhận" in state.inner_text()
    page.click("a[lang=en]")
    assert "Acknowledged" in page.locator("table.alerts").inner_text()
    assert page.locator("#licences h2").inner_text() == "Antivirus licences about to expire or expired"
