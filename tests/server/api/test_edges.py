"""The edges of the report API and the console's downloads: file names, bounded dates and ids, escaped Markdown.

Runs on the console tests' seeded district (its PC named ``<script>alert(1)</script>`` included), with two
units added whose codes break a naive Content-Disposition: ``ĐX1`` and one holding a quote.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from markdown_it import MarkdownIt

from server.api.downloads import ascii_fallback, content_disposition
from server.config import Settings
from server.db import make_engine
from server.main import create_app
from server.services.spreadsheets import import_units
from tests.server.console import conftest as console
from tests.server.report.test_api import seeded_template, settings  # noqa: F401 - fixtures

QUOTED = 'X"2;a'


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:  # noqa: F811 - this module's client
    """The app on a copy of the seeded district with the two awkward units, the administrator signed in."""
    sheet = tmp_path / "units.csv"
    sheet.write_text(f'code,name,kind,parent\nĐX1,Xã Đông,commune,\n"{QUOTED.replace(chr(34), 2 * chr(34))}",Xã,'
                     "commune,\n", encoding="utf-8")
    engine = make_engine(settings.url)
    assert import_units(engine, sheet, "test").created == 2
    engine.dispose()
    app = create_app(settings)
    with TestClient(app) as test_client:
        assert console.sign_in(test_client, "admin") == 200
        yield test_client
    app.state.engine.dispose()


def _exact_name(header: str) -> str:
    return unquote(header.split("filename*=UTF-8''", 1)[1])


def test_content_disposition_has_an_ascii_fallback_and_the_exact_name() -> None:
    header = content_disposition("bao-cao-ĐX1.docx")
    assert header == "attachment; filename=\"bao-cao-DX1.docx\"; filename*=UTF-8''bao-cao-%C4%90X1.docx"
    header.encode("latin-1")  # what the HTTP stack requires of a header
    assert ascii_fallback('a"b;c\\d\r\n.csv') == "a_b_c_d.csv"
    assert _exact_name(content_disposition('x"1.md', "inline")) == 'x"1.md'


@pytest.mark.parametrize("unit", ["ĐX1", QUOTED])
def test_every_download_names_an_awkward_unit(client: TestClient, unit: str) -> None:
    for fmt in ("md", "txt", "json", "docx"):
        response = client.get("/api/v1/report", params={"unit": unit, "format": fmt})
        assert response.status_code == 200, (fmt, response.text)
        assert _exact_name(response.headers["content-disposition"]).endswith(f"-{unit}.{fmt}")
    for path in ("/report", "/devices.csv"):
        response = client.get(path, params={"unit": unit})
        assert response.status_code == 200
        header = response.headers["content-disposition"]
        assert header.startswith('attachment; filename="') and unit in _exact_name(header)


@pytest.mark.parametrize("query", [{"as_of": "9999-12-31"}, {"as_of": "0001-01-01"}, {"as_of": "1999-12-31"},
                                   {"compare_to": "9999-12-31"}, {"compare_to": "0001-01-02"},
                                   {"unit": "X01\x00"}, {"period": "\x1b[2J"}])
def test_report_parameters_out_of_bounds_are_422(client: TestClient, query: dict[str, str]) -> None:
    response = client.get("/api/v1/report", params=query)
    assert response.status_code == 422
    assert next(iter(query)) in response.json()["detail"]


def test_dates_at_the_bounds_are_answered(client: TestClient) -> None:
    assert client.get("/api/v1/report", params={"as_of": "9999-12-30", "format": "json"}).status_code == 200
    assert client.get("/api/v1/report", params={"as_of": "2000-01-01", "format": "json"}).status_code == 200


@pytest.mark.parametrize("report_id", ["99999999999999999999999", "2147483648", "0", "-1"])
def test_a_huge_kept_report_id_is_422(client: TestClient, report_id: str) -> None:
    assert client.get(f"/api/v1/report/kept/{report_id}").status_code == 422
    assert client.get("/api/v1/report/kept/2147483647").status_code == 404


@pytest.mark.parametrize("as_of", ["0001-01-01", "1999-12-31"])
def test_console_refuses_dates_before_2000(client: TestClient, as_of: str) -> None:
    for path in ("/", "/devices", "/devices.csv", "/units", "/report"):
        assert client.get(path, params={"as_of": as_of}).status_code == 422, path


def test_agent_text_is_escaped_in_the_markdown_and_what_renders_it(client: TestClient) -> None:
    markdown = client.get("/api/v1/report", params={"format": "md", "items": "all", "unit": "X01"}).text
    assert console.SCRIPT_HOST not in markdown and "\\<script\\>" in markdown
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<table>" in html  # the structure is still Markdown
