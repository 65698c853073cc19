"""The audit log page in words: names not ids, local times, filters, paging over every entry."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from server.clock import local_today
from server.console.auth import record
from tests.server.console.conftest import csrf_of


def test_entries_are_worded_and_filtered(admin: TestClient) -> None:
    form = admin.get("/devices/new?unit=X01")
    assert admin.post("/devices/new", data={"csrf": csrf_of(form.text), "name": "Máy scan một cửa", "unit": "X01",
                                            "kind": "scanner"}).status_code == 303
    page = admin.get("/audit?action=device.create").text
    assert "Thêm thiết bị nhập tay" in page and "Máy scan một cửa" in page
    assert "UBND thị trấn Cây Dương (X01)" in page and "device_id" not in page
    enrolled = admin.get("/audit?action=agent.enroll").text
    assert "agent:" not in enrolled or "PB01-PC" in enrolled  # agents by host name
    assert "unit_id" not in enrolled
    by_unit = admin.get("/audit?unit=X01").text
    assert "Máy scan một cửa" in by_unit and "Đăng nhập</td>" not in by_unit
    assert "Đăng nhập</td>" in admin.get("/audit?actor=admin").text
    today = local_today(admin.app.state.settings.tz)  # type: ignore[attr-defined]
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert "0 mục" in admin.get(f"/audit?since={tomorrow}").text
    assert "Máy scan một cửa" in admin.get(f"/audit?since={today.isoformat()}&until={today.isoformat()}").text
    assert "Device entered by hand" in admin.get("/audit?action=device.create&lang=en").text


def test_paging_reaches_every_entry(admin: TestClient) -> None:
    engine = admin.app.state.engine  # type: ignore[attr-defined]
    for n in range(150):
        record(engine, "script", "console.report", as_of=f"n{n:03d}")
    first = admin.get("/audit?actor=script").text
    assert "150 mục" in first and "Trang 1/2" in first.replace("trang", "Trang") and "n149" in first
    second = admin.get("/audit?actor=script&page=2").text
    assert "n000" in second and "n149" not in second
    assert admin.get("/audit?page=0").status_code == 400


def test_only_admins_read_the_log(commune_viewer: TestClient) -> None:
    refused = commune_viewer.get("/audit")
    assert refused.status_code == 403 and "<h1>Không được phép</h1>" in refused.text
