"""An officer finds a PC's malware on the overview, in the detections list and on the PC's page, in a real browser.

The PC enrols and reports over HTTP as an agent does; its detection is active, then a later report says the
product removed it: the list shows it dealt with, the device page shows both steps of its history.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from server.clock import utcnow
from server.config import Settings
from server.db import make_engine, writing
from server.services.enrolment import create_token
from tests.server.console.conftest import PASSWORDS
from tests.server.services.test_detections import report, threat

pytestmark = pytest.mark.slow


def _deliver(base: str, key: str, body: str) -> None:
    answer = httpx.post(base + "/api/v1/reports", content=body,
                        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    assert answer.status_code // 100 == 2, answer.text


def test_officer_follows_a_detection_from_the_overview_to_the_device(page: Any, server: tuple[str, Settings]) -> None:
    base, settings = server
    engine = make_engine(settings.url)
    with writing(engine) as session:
        token, _ = create_token(session, "PB01", days=1, actor="test")
    engine.dispose()
    machine = f"infected-{uuid.uuid4().hex[:8]}"
    key = httpx.post(base + "/api/v1/enroll", json={"token": token, "machine_id": machine}).json()["agent_key"]
    now = utcnow()
    found = now - timedelta(hours=3)
    _deliver(base, key, report(found, threat("D-77", detected=found - timedelta(minutes=5)), machine=machine,
                               serial=f"SN-{machine}", hostname=machine).model_dump_json())

    page.goto(base + "/login?lang=vi")
    page.fill("input[name=username]", "pb")
    page.fill("input[name=password]", PASSWORDS["pb"])
    page.click("button.primary")
    page.wait_for_url(base + "/")
    card = page.locator("a.card.detections")
    assert card.locator(".big").inner_text() == "1"
    assert "1/1 trường hợp trong kỳ" in card.locator(".small").inner_text()
    card.click()
    page.wait_for_url(base + "/detections?status=unremediated")
    row = page.locator("table.detections tbody tr", has_text=machine)
    assert row.count() == 1
    assert "Trojan:Win32/Wacatac.B!ml" in row.inner_text()
    assert row.locator("td.det-status").inner_text() == "Còn trên máy"
    assert "còn 1/1 trường hợp chưa xử lý xong" in page.locator("p.detections-counts").inner_text()

    _deliver(base, key, report(now - timedelta(hours=1), threat("D-77", "remediated", detected=found), machine=machine,
                               serial=f"SN-{machine}", hostname=machine).model_dump_json())
    page.reload()
    assert page.locator("table.detections tbody tr", has_text=machine).count() == 0  # dealt with: not to act on
    page.goto(base + "/detections")
    row = page.locator("table.detections tbody tr", has_text=machine)
    assert row.locator("td.det-status").inner_text() == "Đã xử lý"
    row.locator("a").click()
    section = page.locator("#detections")
    assert "Trojan:Win32/Wacatac.B!ml" in section.inner_text()
    assert section.locator("ol.history li").count() == 2
    assert "hoadon.exe" in section.inner_text()
