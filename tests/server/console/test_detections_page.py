"""The detections list: unit scope, filters, counts, escaping, and its CSV/XLSX exports (both engines)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl
from fastapi.testclient import TestClient

from server.clock import utcnow
from server.db import reading
from server.services.ingest import Delivery, receive
from server.services.records import unit_by_code
from tests.server.console.conftest import sign_in
from tests.server.services.test_detections import report, threat


def _infect(client: TestClient, unit_code: str, machine: str, *items: dict[str, object]) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with reading(engine) as session:
        unit = unit_by_code(session, unit_code)
        assert unit is not None
    at = utcnow() - timedelta(hours=2)
    result = receive(engine, report(at, *items, machine=machine, serial=f"SN-{machine}", hostname=machine),
                     lambda _c: Delivery(unit_id=unit.id))
    assert result.status == "accepted"


def test_the_list_is_scoped_filtered_escaped_and_exported(app_client: TestClient) -> None:
    _infect(app_client, "PB01", "pb-pc", threat("1", severity="high"), threat("2", "remediated", severity="low") |
            {"threat": "<script>alert(2)</script>"})
    _infect(app_client, "X01", "xa-pc", threat("3", "failed", action="remove"))
    assert sign_in(app_client, "admin") == 303
    page = app_client.get("/detections")
    assert page.status_code == 200
    assert "pb-pc" in page.text and "xa-pc" in page.text
    assert "<script>alert(2)" not in page.text and "&lt;script&gt;alert(2)" in page.text
    assert "còn 2/3 trường hợp chưa xử lý xong" in page.text
    open_only = app_client.get("/detections?status=unremediated&severity=high&severity=bogus")
    assert "pb-pc" in open_only.text and "xa-pc" not in open_only.text
    assert app_client.get("/detections?since=31-12-2024").status_code == 400

    exported = app_client.get("/detections.csv?status=unremediated")
    assert exported.status_code == 200 and "phat-hien-ma-doc" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert sorted((r["device"], r["status"], r["unit"]) for r in rows) == [
        ("pb-pc", "active", "PB01"), ("xa-pc", "failed", "X01")]
    workbook = openpyxl.load_workbook(io.BytesIO(app_client.get("/detections.xlsx?lang=en").content))
    sheet = workbook.active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["Unit", "Computer", "Threat"] and len(values) == 4
    assert "'=" not in str(values)

    app_client.cookies.clear()
    assert sign_in(app_client, "xa") == 303  # a viewer of the town X01
    mine = app_client.get("/detections")
    assert "xa-pc" in mine.text and "pb-pc" not in mine.text
    assert app_client.get("/detections?unit=PB01").status_code == 403
    assert "pb-pc" not in app_client.get("/detections.csv").text
