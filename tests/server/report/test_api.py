"""GET /api/v1/report in each format, and the kept reports, through the real app on the seeded district.

The district is the console tests' one (spreadsheets imported, demo reports ingested); every answer is
compared with ``make_report`` on the same database, the one source of the report's numbers.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from io import BytesIO
from pathlib import Path

import docx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server.clock import local_today
from server.config import Settings
from server.db import reading, writing
from server.main import create_app
from server.report import Format, render
from server.report.generate import ReportRequest, keep, make_report
from server.services.figure import FIGURE_KEYS
from server.services.policy import Policy
from tests.server.console import conftest as console

#: The console tests' seeded district (SQLite file), reused rather than seeded another way.
seeded_template = console.seeded_template


@pytest.fixture
def settings(seeded_template: Path, tmp_path: Path) -> Settings:
    target = tmp_path / "kiemke.db"
    shutil.copy(seeded_template, target)
    return Settings(environment="test", data_dir=tmp_path, database_url=f"sqlite:///{target}")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The whole app on a private copy of the seeded district, the administrator signed in."""
    app = create_app(settings)
    with TestClient(app) as test_client:
        assert test_client.get("/api/v1/report").status_code == 401  # nobody signed in yet
        assert console.sign_in(test_client, "admin") == 200  # redirects followed
        yield test_client
    app.state.engine.dispose()


@pytest.fixture
def today(settings: Settings) -> date:
    return local_today(settings.tz)


def expected(client: TestClient, settings: Settings, request: ReportRequest, fmt: Format) -> bytes:
    """What ``make_report`` gives for ``request`` on the client's database, rendered in ``fmt``."""
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    with reading(engine) as session:
        document = make_report(session, request, Policy.from_settings(settings), settings.tz)
    return render(document, fmt)


def test_markdown_by_default(client: TestClient, settings: Settings, today: date) -> None:
    response = client.get("/api/v1/report", params={"as_of": today.isoformat()})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    assert response.content == expected(client, settings, ReportRequest(as_of=today), "md")
    assert f"**(Đến {today:%d/%m/%Y})**" in response.text


def test_json_and_text_and_english(client: TestClient, settings: Settings, today: date) -> None:
    params = {"as_of": today.isoformat(), "unit": "X01"}
    data = client.get("/api/v1/report", params={**params, "format": "json", "lang": "en"}).json()
    same = json.loads(expected(client, settings, ReportRequest(as_of=today, unit_code="X01", lang="en"), "json"))
    assert data.pop("generated_at") <= same.pop("generated_at")  # the only field that moves between calls
    assert data == same
    assert data["lang"] == "en" and data["as_of"] == today.isoformat()
    assert data["figures"]["computers_per_staff"]["numerator"] > 0  # the ingested reports count
    text = client.get("/api/v1/report", params={**params, "format": "txt"})
    assert text.headers["content-type"].startswith("text/plain")
    assert text.content == expected(client, settings, ReportRequest(as_of=today, unit_code="X01"), "txt")
    assert "6. Hạ tầng kỹ thuật" in text.text


def test_docx_is_an_attachment_word_can_open(client: TestClient, today: date) -> None:
    response = client.get("/api/v1/report", params={"as_of": today.isoformat(), "format": "docx"})
    assert response.status_code == 200
    name = f"bao-cao-{today.isoformat()}-toan-huyen.docx"
    assert response.headers["content-disposition"] == f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
    opened = docx.Document(BytesIO(response.content))
    assert any(p.text == "8. Công tác đảm bảo an toàn, an ninh thông tin" for p in opened.paragraphs)


def test_items_of_one_figure(client: TestClient, settings: Settings, today: date) -> None:
    one = client.get("/api/v1/report", params={"as_of": today.isoformat(), "items": "os_unsupported"})
    assert one.content == expected(client, settings, ReportRequest(as_of=today, items=("os_unsupported",)), "md")
    assert one.text.split("## Phụ lục 2", 1)[1].count("#### ") == 1
    everything = client.get("/api/v1/report", params={"as_of": today.isoformat(), "items": "all"}).text
    # every figure once; breakdowns by unit kind (units_with_lan:commune) are in their total's list
    assert everything.split("## Phụ lục 2", 1)[1].count("#### ") == len([k for k in FIGURE_KEYS if ":" not in k])
    assert client.get("/api/v1/report", params={"items": "nope"}).status_code == 422


def test_unknown_unit_and_bad_options(client: TestClient, today: date) -> None:
    assert client.get("/api/v1/report", params={"as_of": today.isoformat(), "unit": "NOPE"}).status_code == 404
    assert client.get("/api/v1/report", params={"format": "pdf"}).status_code == 422
    assert client.get("/api/v1/report", params={"lang": "fr"}).status_code == 422
    assert client.get("/api/v1/report", params={"as_of": "18/05/2024"}).status_code == 422


def test_kept_reports_are_listed_and_served_unchanged(client: TestClient, settings: Settings, today: date) -> None:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    with writing(engine) as session:
        document = make_report(session, ReportRequest(as_of=today), Policy.from_settings(settings), settings.tz)
        kept_id = keep(session, document, trigger="schedule").id
    listed = client.get("/api/v1/report/kept").json()
    assert listed["count"] == 1
    entry = listed["data"][0]
    assert (entry["id"], entry["as_of"], entry["trigger"], entry["lang"]) == (
        kept_id, today.isoformat(), "schedule", "vi")
    assert client.get(f"/api/v1/report/kept/{kept_id}").content == render(document, "md")
    kept_json = client.get(f"/api/v1/report/kept/{kept_id}", params={"format": "json"}).content
    assert kept_json == render(document, "json")
    assert client.get(f"/api/v1/report/kept/{kept_id}", params={"format": "docx"}).content.startswith(b"PK")
    assert client.get("/api/v1/report/kept/999").status_code == 404
    assert entry["created_at"].endswith(("Z", "+00:00"))
