"""In headless Chromium: an officer imports a sheet with one bad row (the preview names it, the good rows
commit), then makes a personal API token on their page, which reads their units through the API and
nothing of another unit's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.config import Settings
from tests.server.console.test_browser_workplace import _sign_in

pytestmark = pytest.mark.slow

SHEET = ("Thuộc đơn vị (mã),Loại thiết bị,Tên thiết bị,Số sê-ri\n"
         "PB01,scanner,Máy quét trình duyệt,SCAN-BROWSER-1\n"
         "PB01,toaster,Máy không rõ loại,ODD-BROWSER-1\n"
         "PB01,printer,Máy in trình duyệt,PRN-BROWSER-1\n")


def test_an_officer_imports_a_sheet_with_one_bad_row(page: Any, server: tuple[str, Settings],
                                                     tmp_path: Path) -> None:
    base, _ = server
    sheet = tmp_path / "thiet-bi.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    _sign_in(page, base, "pb")
    page.click("nav >> text=Nhập dữ liệu")
    page.set_input_files("#file-assets", str(sheet))
    page.click("section:has(#sheet-assets) button")
    page.wait_for_selector("#import-outcome")
    assert page.locator("#count-created").inner_text() == "2"
    assert page.locator("#count-refused").inner_text() == "1"
    refused = page.locator("table.refused-rows tbody tr").all_inner_texts()
    assert len(refused) == 1 and refused[0].startswith("3") and "toaster" in refused[0]
    other = page.context.new_page()  # the same session in another tab: nothing is written by the preview
    other.goto(base + "/devices?q=trinh+duyet")
    assert other.locator("table.list a.name").count() == 0
    other.close()
    page.click("#commit-import")
    page.wait_for_selector("text=Đã nhập thiet-bi.csv")
    page.goto(base + "/devices?q=trinh+duyet")
    assert sorted(page.locator("table.list a.name").all_inner_texts()) == ["Máy in trình duyệt",
                                                                           "Máy quét trình duyệt"]


def test_an_officers_token_from_their_page_reads_only_their_units(page: Any, server: tuple[str, Settings]) -> None:
    base, _ = server
    _sign_in(page, base, "pb")
    page.goto(base + "/account")
    page.click("text=Mã truy cập API")
    page.fill("input[name=name]", "Bảng số liệu của sở")
    page.click("button.primary")
    secret = page.locator("#new-api-token").inner_text()
    assert re.fullmatch(r"kkr_[A-Za-z0-9_-]{40,}", secret)
    page.goto(base + "/account/api-tokens")
    assert page.locator("#new-api-token").count() == 0  # shown once
    assert "Bảng số liệu của sở" in page.locator("table.api-tokens").inner_text()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}) as api:
        own = api.get("/api/v1/devices", params={"size": 1000}).json()
        assert own["unit"] == "PB01" and own["count"] > 0
        assert {row["unit"] for row in own["data"]} == {"PB01"}
        assert api.get("/api/v1/devices", params={"unit": "X01"}).status_code == 403
        assert api.get("/api/v1/figures", params={"unit": "X01"}).status_code == 403
    page.click("table.api-tokens button")  # revoke
    page.wait_for_url(base + "/account/api-tokens")
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}) as api:
        assert api.get("/api/v1/units").status_code == 401
