"""The console in a real browser (Debian's Chromium driven by Playwright) against a real uvicorn server.

Skipped with the reason when Chromium or Playwright is missing on a user's machine; under CI=true a missing
browser fails the run instead, so the browser tests cannot silently stop running there.
"""

from __future__ import annotations

from typing import Any

import pytest

from server.config import Settings
from server.console.auth import demo_sign_in
from tests.server.console.conftest import PASSWORDS, SCREENSHOTS, SCRIPT_HOST

pytestmark = pytest.mark.slow


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORDS[username])
    page.click("button.primary")
    page.wait_for_url(base + "/")


def test_officer_signs_in_reads_switches_language_and_filters(page: Any, server: tuple[str, Settings]) -> None:
    base, _ = server
    _sign_in(page, base, "admin")
    assert page.locator("h1").inner_text() == "Tổng quan: Toàn huyện"
    staff = page.locator("tr", has_text="Cán bộ, công chức, viên chức được trang bị máy tính").first
    assert staff.locator("td.share").inner_text().count("%") == 1
    assert "," in staff.locator("td.share").inner_text() and "/" in staff.locator("td.share").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "kiemke-console-overview.png"), full_page=True)

    page.click("a[lang=en]")
    page.wait_for_url("**lang=en")
    assert page.locator("h1").inner_text() == "Overview: Whole district"
    page.click("nav >> text=Devices")
    assert page.locator("h1").inner_text() == "Devices: Whole district"  # the cookie keeps English

    page.select_option("select[name=unit]", "X01")
    page.click("form.toolbar button[type=submit]")
    page.wait_for_url("**unit=X01**")
    units = set(page.locator("table.list tbody tr td:first-child").all_inner_texts())
    assert units == {"UBND thị trấn Cây Dương"}
    page.screenshot(path=str(SCREENSHOTS / "kiemke-console-devices.png"))


def test_a_script_host_name_is_shown_as_text(page: Any, server: tuple[str, Settings]) -> None:
    base, _ = server
    dialogs: list[str] = []

    def record(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    _sign_in(page, base, "xa")
    page.goto(base + "/devices?q=script")
    assert page.locator("table.list .name").all_inner_texts() == [SCRIPT_HOST]
    assert dialogs == []


def test_a_viewer_cannot_reach_another_unit(page: Any, server: tuple[str, Settings]) -> None:
    base, _ = server
    _sign_in(page, base, "xa")
    assert page.locator("h1").inner_text() == "Tổng quan: UBND thị trấn Cây Dương"
    page.goto(base + "/devices")
    assert set(page.locator("table.list tbody tr td:first-child").all_inner_texts()) == {"UBND thị trấn Cây Dương"}
    assert "PB01-PC01" not in page.content()
    response = page.goto(base + "/devices?unit=PB01")
    assert response is not None and response.status == 403
    assert "Không được phép" in page.locator("h1").inner_text()
    assert page.locator("table.list").count() == 0


def test_the_demo_link_opens_the_console(page: Any, server: tuple[str, Settings]) -> None:
    base, settings = server
    link = demo_sign_in(base, settings)
    page.goto(link.url)
    assert page.url == base + "/"
    assert "Tổng quan" in page.locator("h1").inner_text()
    page.goto(link.url)  # used once already
    assert "/login" in page.url and "đã được dùng" in page.locator(".alert").inner_text()


def test_the_report_button_says_it_is_working_until_the_file_arrives(page: Any, server: tuple[str, Settings]) -> None:
    base, _ = server
    _sign_in(page, base, "admin")
    page.evaluate("""() => {
        const button = document.querySelector("form.report button[type=submit]");
        window.seen = [];
        new MutationObserver(() => window.seen.push([button.disabled, button.textContent])).observe(
            button, {attributes: true, childList: true, subtree: true, characterData: true});
    }""")
    with page.expect_download() as download:
        page.click("form.report button[type=submit]")
    name = download.value.suggested_filename
    assert name.startswith("bao-cao-") and name.endswith(".docx")
    page.wait_for_function("() => !document.querySelector('form.report button').disabled")
    assert [True, "Đang lập báo cáo…"] in page.evaluate("window.seen")  # said so while the server worked
    assert page.locator("form.report button[type=submit]").inner_text() == "Tải báo cáo"
    assert page.locator("form.report .report-status").inner_text() == "Đã tải xong báo cáo."
