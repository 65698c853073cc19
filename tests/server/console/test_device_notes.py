"""A device's notes and the status "broken": kept by hand in the form, versioned, audited, filtered, exported,
read through the API, and imported from the assets sheet."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from server.clock import local_today, utcnow
from server.db import writing
from server.services.api_tokens import create_api_token
from server.services.spreadsheets import import_assets
from tests.server.console.conftest import sign_in
from tests.server.console.test_device_page import _audit, _device_id, _engine, _form

NOTES = "Hỏng nguồn, chờ thay.\n<b>Không</b> dùng =SUM(A1)"


@pytest.mark.dates
def test_an_officer_marks_a_pc_broken_with_notes(app_client: TestClient) -> None:
    assert sign_in(app_client, "pb") == 303
    pc = _device_id(app_client, hostname="PB01-PC03")
    values = _form(app_client, f"/devices/{pc}/edit")
    values.update(status="broken", notes=NOTES)
    assert app_client.post(f"/devices/{pc}/edit", data=values).status_code == 303

    page = app_client.get(f"/devices/{pc}").text
    assert "hỏng" in page and "&lt;b&gt;Không&lt;/b&gt;" in page and "<b>Không</b>" not in page
    form = app_client.get(f"/devices/{pc}/edit").text
    assert 'value="broken" selected' in form and "Hỏng nguồn, chờ thay." in form
    assert _audit(app_client, "device.edit")[-1]["changes"] == {"status": ["in_use", "broken"],
                                                                 "notes": [None, NOTES]}
    # The list's status filter, its search (notes are searched) and both exports.
    assert f'href="/devices/{pc}"' in app_client.get("/devices?status=broken").text
    assert f'href="/devices/{pc}"' in app_client.get("/devices?q=cho+thay").text
    exported = app_client.get("/devices.csv?status=broken").text.lstrip("\ufeff")
    (row,) = list(csv.DictReader(io.StringIO(exported)))
    assert row["status"] == "broken" and row["notes"] == "Hỏng nguồn, chờ thay.\n<b>Không</b> dùng =SUM(A1)"
    sheet = load_workbook(io.BytesIO(app_client.get("/devices.xlsx?status=broken").content)).active
    header, cells = [c.value for c in sheet[1]], [c.value for c in sheet[2]]
    assert cells[header.index("Ghi chú")] == NOTES and cells[header.index("Tình trạng")] == "hỏng"
    # An earlier cut-off still shows the PC in use: the edit is a new version.
    yesterday = local_today(app_client.app.state.settings.tz) - timedelta(days=1)  # type: ignore[attr-defined]
    assert f'href="/devices/{pc}"' not in app_client.get(f"/devices?status=broken&as_of={yesterday}").text
    # Through the read API with the officer's token.
    with writing(_engine(app_client)) as session:
        secret, _ = create_api_token(session, "pb", "test", days=1, actor="test", now=utcnow())
    app_client.cookies.clear()
    listed = app_client.get("/api/v1/devices?status=broken", headers={"Authorization": f"Bearer {secret}"}).json()
    assert [(d["id"], d["notes"]) for d in listed["data"]] == [(pc, NOTES)]


def test_notes_longer_than_the_limit_are_refused_in_the_form(app_client: TestClient) -> None:
    assert sign_in(app_client, "pb") == 303
    pc = _device_id(app_client, hostname="PB01-PC03")
    values = _form(app_client, f"/devices/{pc}/edit")
    values["notes"] = "x" * 2001
    refused = app_client.post(f"/devices/{pc}/edit", data=values)
    assert refused.status_code == 400 and 'id="err-notes"' in refused.text


def test_the_assets_sheet_carries_notes_and_the_broken_status(app_client: TestClient, tmp_path: Path) -> None:
    sheet = tmp_path / "assets.csv"
    sheet.write_text("unit,kind,name,serial,status,notes\n"
                     "PB01,printer,Máy in hỏng,SN-BROKEN-1,broken,Kẹt giấy\n"
                     "PB01,printer,Máy in lạ,SN-ODD-1,destroyed,\n", encoding="utf-8")
    result = import_assets(_engine(app_client), sheet, "test")
    assert result.created == 1
    assert result.errors == [(3, "status: 'destroyed' is not one of in_use, spare, broken, retired")]
    assert sign_in(app_client, "admin") == 303
    printer = _device_id(app_client, serial="SN-BROKEN-1")
    page = app_client.get(f"/devices/{printer}").text
    assert "Kẹt giấy" in page and "hỏng" in page
