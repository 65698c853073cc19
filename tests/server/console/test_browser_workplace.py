"""An officer's daily work in a real browser: open a device, correct it, add an asset, see the figures move.

Its own uvicorn server on a fresh copy of the seeded district (these tests change data), the session's Chromium.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from server.config import Settings
from tests.server.console.conftest import PASSWORDS

pytestmark = pytest.mark.slow
XSS = "<img src=x onerror=alert(1)>"


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login?lang=vi")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORDS[username])
    page.click("button.primary")
    page.wait_for_url(base + "/")


def _numerator(page: Any, base: str, label: str) -> int:
    """The numerator of an overview figure, read as the page shows it ("12,34% (1.234/5.678)")."""
    page.goto(base + "/")
    share = page.locator("tr", has_text=label).first.locator("td.share").inner_text()
    found = re.search(r"\(([\d.]+)/", share)
    assert found, share
    return int(found.group(1).replace(".", ""))


def test_officer_corrects_a_purchase_date_and_marks_a_pc_air_gapped(page: Any, server: tuple[str, Settings],
                                                                    browser: Any) -> None:
    base, _ = server
    _sign_in(page, base, "pb")
    past = _numerator(page, base, "Thiết bị đang sử dụng đã quá thời hạn sử dụng")
    page.goto(base + "/devices")
    row = page.locator("table.list tbody tr", has_text="Máy tính để bàn").filter(has_not_text="Quá hạn").first
    row.locator("a.name").click()
    page.wait_for_url(re.compile(r"/devices/\d+$"))
    device_url = page.url
    assert "Quá hạn" not in page.locator("p.age").inner_text()

    page.click("text=Sửa thông tin")
    page.fill("input[name=purchased_on]", "15/03/2012")
    page.check("input[name=air_gapped]")
    page.click("button.primary")
    page.wait_for_url(device_url + "?saved=1")
    assert "Đã lưu" in page.locator("p.notice").inner_text()
    assert "Quá hạn" in page.locator("p.age").inner_text()
    assert page.locator("tr.decided th").inner_text() == "hồ sơ mua sắm"
    timeline = page.locator("ol.timeline > li").first.inner_text()
    assert "Sửa tay bởi pb" in timeline and "15/03/2012" not in timeline and "2012-03-15" in timeline
    assert "Máy văn bản mật" in timeline

    assert _numerator(page, base, "Thiết bị đang sử dụng đã quá thời hạn sử dụng") == past + 1

    admin = browser.new_context(locale="vi-VN").new_page()
    _sign_in(admin, base, "admin")
    admin.goto(base + "/audit?action=device.edit")
    entry = admin.locator("table.list tbody tr").first.inner_text()
    assert "pb" in entry and "2012-03-15" in entry
    admin.context.close()


def test_officer_adds_a_scanner_and_a_viewer_cannot(page: Any, server: tuple[str, Settings], browser: Any) -> None:
    base, _ = server
    _sign_in(page, base, "admin")
    label = "Cơ quan, đơn vị được bố trí máy Scan"
    before = _numerator(page, base, label)
    page.goto(base + "/devices")
    page.click("text=Thêm thiết bị")
    page.select_option("select[name=unit]", "TH03")
    page.select_option("select[name=kind]", "scanner")
    page.fill("input[name=name]", XSS)
    page.fill("input[name=serial]", "SCAN-TH03-1")
    page.fill("input[name=purchased_on]", "2031-01-01")
    page.click("button.primary")
    assert "không thể sau hôm nay" in page.locator("#err-purchased_on").inner_text()
    assert page.locator("input[name=name]").input_value() == XSS  # what was typed is kept
    page.fill("input[name=purchased_on]", "2025-06-01")
    page.click("button.primary")
    page.wait_for_url(re.compile(r"/devices/\d+\?saved=1$"))
    assert page.locator("dd.name").inner_text() == XSS
    assert _numerator(page, base, label) == before + 1
    page.goto(base + "/devices?q=onerror")
    assert page.locator("table.list a.name").all_inner_texts() == [XSS]

    viewer = browser.new_context(locale="vi-VN").new_page()
    dialogs: list[str] = []
    viewer.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _sign_in(viewer, base, "xa")
    viewer.goto(base + "/devices")
    assert viewer.locator("text=Thêm thiết bị").count() == 0
    viewer.locator("table.list a.name").first.click()
    assert viewer.locator("text=Sửa thông tin").count() == 0
    response = viewer.goto(base + "/devices/new")
    assert response is not None and response.status == 403
    assert viewer.locator("h1").inner_text() == "Không được phép"
    assert dialogs == []
    viewer.context.close()
