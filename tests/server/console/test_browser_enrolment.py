"""An officer enrols a PC and takes its key back, in a real browser against a real server.

The token is created on the tokens page and read off the page, a PC enrols with it over HTTP, the agents page
lists the PC, and the key revoked there makes the PC's next report a 401.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from server.config import Settings
from tests.server.console.conftest import PASSWORDS
from tests.server.factories import make_report

pytestmark = pytest.mark.slow


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login?lang=vi")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORDS[username])
    page.click("button.primary")
    page.wait_for_url(base + "/")


def _report(base: str, key: str, machine: str) -> int:
    body = make_report(machine, serial=f"SN-{machine}", hostname=machine,
                       collected_at=datetime.now(timezone.utc)).model_dump_json()
    answer = httpx.post(base + "/api/v1/reports", content=body,
                        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    return answer.status_code


def test_officer_creates_a_token_a_pc_enrols_and_its_key_is_revoked(page: Any, server: tuple[str, Settings]) -> None:
    base, _ = server
    _sign_in(page, base, "pb")
    page.click("nav >> text=Mã đăng ký")
    page.wait_for_url(base + "/tokens")
    page.fill("input[name=days]", "0")
    page.click("button.primary")
    assert "Số ngày phải là số nguyên" in page.locator("#err-days").inner_text()
    assert page.locator("#new-token").count() == 0
    page.fill("input[name=days]", "3")
    page.fill("input[name=max_uses]", "1")
    page.click("button.primary")
    token = page.locator("#new-token").inner_text()
    assert token.startswith("kket_")

    machine = f"browser-pc-{uuid.uuid4().hex[:8]}"
    enrolled = httpx.post(base + "/api/v1/enroll", json={"token": token, "machine_id": machine, "hostname": machine})
    assert enrolled.status_code == 201
    key = enrolled.json()["agent_key"]
    assert _report(base, key, machine) // 100 == 2
    page.goto(base + "/tokens")
    first = page.locator("table.tokens tbody tr").first
    assert "1 / 1" in first.inner_text() and first.locator("td.token-state").inner_text() == "Đã dùng hết"
    first.locator("button", has_text="Thu hồi").click()
    page.wait_for_url(base + "/tokens")
    assert page.locator("table.tokens tbody tr").first.locator("td.token-state").inner_text().startswith("Đã thu hồi")

    page.click("nav >> text=Phần mềm kiểm kê")
    page.wait_for_url(base + "/agents")
    row = page.locator("table.agents tbody tr", has_text=machine)
    assert row.count() == 1
    assert row.locator("td.key-state").inner_text() == "Đang dùng"
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", row.locator("td").nth(3).inner_text())  # last seen, local
    row.locator("button", has_text="Thu hồi khoá").click()
    page.wait_for_url(base + "/agents?revoked=1")
    assert "phải đăng ký lại" in page.locator("p.notice").inner_text()
    row = page.locator("table.agents tbody tr", has_text=machine)
    assert row.locator("td.key-state").inner_text().startswith("Đã thu hồi")
    assert row.locator("button").count() == 0
    assert _report(base, key, machine) == 401
