"""GET /api/v1/report in each format, and the kept reports, through the real app on SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from io import BytesIO
from pathlib import Path

import docx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from server.config import Settings
from server.console.auth import create_user
from server.db import writing
from server.main import create_app
from server.report import generate
from server.report.generate import UnknownUnit, keep
from server.report.section import build_report
from server.services.figure import Coverage
from server.services.policy import Policy
from server.services.state import Snapshot
from tests.server.console.conftest import csrf_of
from tests.server.report.handbuilt import make_coverage, make_snapshot


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app, with the coverage of the hand-built district standing in for history (tested elsewhere)."""

    def hand_built(session: Session, as_of: date, unit: str | None, policy: Policy,
                   tz: object = None) -> tuple[Snapshot, Coverage]:
        if unit not in (None, "PH"):
            raise UnknownUnit(f"unit {unit!r} did not exist on {as_of.isoformat()}")
        return make_snapshot(), make_coverage()

    monkeypatch.setattr(generate, "coverage_at", hand_built)
    app = create_app(Settings(environment="test", data_dir=tmp_path))
    with TestClient(app) as test_client:
        create_user(app.state.engine, "officer", "a long enough pass phrase", "officer", None, actor="test")
        assert test_client.get("/api/v1/report").status_code == 401  # nobody signed in yet
        form = test_client.get("/login")
        signed = test_client.post("/login", follow_redirects=False, data={
            "username": "officer", "password": "a long enough pass phrase", "csrf": csrf_of(form.text), "next": "/"})
        assert signed.status_code == 303
        yield test_client
    app.state.engine.dispose()


def test_markdown_by_default(client: TestClient) -> None:
    response = client.get("/api/v1/report", params={"as_of": "2024-05-18"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    assert "99,58% (17.236/17.307)" in response.text
    assert "**(Đến 18/05/2024)**" in response.text


def test_json_and_text_and_english(client: TestClient) -> None:
    data = client.get("/api/v1/report", params={"as_of": "2024-05-18", "format": "json", "lang": "en"}).json()
    assert data["lang"] == "en" and data["as_of"] == "2024-05-18"
    assert data["figures"]["units_with_scanner"]["items"] == ["PH", "TC", "TB"]
    text = client.get("/api/v1/report", params={"as_of": "2024-05-18", "format": "txt"})
    assert text.headers["content-type"].startswith("text/plain")
    assert "6. Hạ tầng kỹ thuật" in text.text


def test_docx_is_an_attachment_word_can_open(client: TestClient) -> None:
    response = client.get("/api/v1/report", params={"as_of": "2024-05-18", "format": "docx"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="bao-cao-2024-05-18-toan-huyen.docx"'
    opened = docx.Document(BytesIO(response.content))
    assert any(p.text == "8. Công tác đảm bảo an toàn, an ninh thông tin" for p in opened.paragraphs)


def test_items_of_one_figure(client: TestClient) -> None:
    text = client.get("/api/v1/report", params={"as_of": "2024-05-18", "items": "os_unsupported"}).text
    annex = text.split("## Phụ lục 2", 1)[1]
    assert annex.count("#### ") == 1 and "| 1 | Máy một cửa | Xã Tân Bình | — |" in annex
    everything = client.get("/api/v1/report", params={"as_of": "2024-05-18", "items": "all"}).text
    assert everything.split("## Phụ lục 2", 1)[1].count("#### ") == 22
    assert client.get("/api/v1/report", params={"items": "nope"}).status_code == 422


def test_unknown_unit_and_bad_options(client: TestClient) -> None:
    assert client.get("/api/v1/report", params={"as_of": "2024-05-18", "unit": "NOPE"}).status_code == 404
    assert client.get("/api/v1/report", params={"format": "pdf"}).status_code == 422
    assert client.get("/api/v1/report", params={"lang": "fr"}).status_code == 422
    assert client.get("/api/v1/report", params={"as_of": "18/05/2024"}).status_code == 422


def test_kept_reports_are_listed_and_served_unchanged(client: TestClient) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with writing(engine) as session:
        kept_id = keep(session, build_report(make_coverage(), make_snapshot(), "vi"), trigger="schedule").id
    listed = client.get("/api/v1/report/kept").json()
    assert listed["count"] == 1
    entry = listed["data"][0]
    assert (entry["id"], entry["as_of"], entry["trigger"], entry["lang"]) == (kept_id, "2024-05-18", "schedule", "vi")
    markdown = client.get(f"/api/v1/report/kept/{kept_id}").text
    assert "99,58% (17.236/17.307)" in markdown
    kept_json = json.loads(client.get(f"/api/v1/report/kept/{kept_id}", params={"format": "json"}).text)
    assert kept_json["figures"]["antivirus_licensed"]["numerator"] == 2
    assert client.get(f"/api/v1/report/kept/{kept_id}", params={"format": "docx"}).content.startswith(b"PK")
    assert client.get("/api/v1/report/kept/999").status_code == 404
    assert entry["created_at"].endswith(("Z", "+00:00"))
