"""The console through the whole app in-process: sign-in, pages, scope, escaping, CSV and the report."""

from __future__ import annotations

import csv
import io
import json
import re
from io import BytesIO

import docx
import sqlalchemy as sa
from fastapi.testclient import TestClient

from server.console.data import CSV_COLUMNS
from server.models import AuditLog, User, table_of
from tests.server.console.conftest import SCRIPT_HOST, csrf_of, sign_in

SHARE_VI = re.compile(r"\d{1,3},\d\d% \(\d[\d.]*/\d[\d.]*\)")  # 96,45% (681/706)
SHARE_EN = re.compile(r"\d{1,3}\.\d\d% \(\d[\d,]*/\d[\d,]*\)")  # 96.45% (681/706)


def _audit(client: TestClient, action: str) -> list[dict[str, object]]:
    log = table_of(AuditLog)
    with client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(sa.select(log.c.actor, log.c.detail).where(log.c.action == action)).all()
    return [{"actor": r.actor, **json.loads(r.detail)} for r in rows]


def test_pages_need_a_session(app_client: TestClient) -> None:
    for path in ("/", "/devices?unit=X01", "/devices.csv", "/units", "/report"):
        response = app_client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=%2F"), path


def test_sign_in_opens_the_vietnamese_overview(app_client: TestClient) -> None:
    assert sign_in(app_client, "admin", next_url="/units") == 303
    cookie = next(h for h in app_client.cookies.jar if h.name == "kiemke_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    page = app_client.get("/")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text
    assert "Tổng quan: Toàn huyện" in page.text
    assert "Cán bộ, công chức, viên chức được trang bị máy tính để làm việc" in page.text
    assert SHARE_VI.search(page.text)
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert _audit(app_client, "console.login")[0]["actor"] == "admin"


def test_every_figure_links_to_its_list(admin: TestClient) -> None:
    page = admin.get("/").text
    assert 'href="/devices?figure=antivirus_installed"' in page
    assert 'href="/units?figure=units_with_lan"' in page
    assert 'href="/devices?issue=no_agent"' in page  # the computers the agent figure leaves out
    listed = admin.get("/devices?figure=computers_with_agent")
    assert "Danh sách của chỉ tiêu" in listed.text
    units = admin.get("/units?figure=units_with_scanner")
    assert units.status_code == 200 and "Các đơn vị được tính trong chỉ tiêu" in units.text
    # A unit figure asked of the device list goes to the units page.
    assert admin.get("/devices?figure=units_with_lan").headers["location"] == "/units?figure=units_with_lan"


def test_english_by_query_then_by_cookie(admin: TestClient) -> None:
    english = admin.get("/?lang=en")
    assert '<html lang="en">' in english.text and "Overview: Whole district" in english.text
    assert SHARE_EN.search(english.text)
    assert admin.get("/devices").text.count("Devices: Whole district") == 1
    assert "Tổng quan" in admin.get("/?lang=vi").text


def test_wrong_password_is_refused_logged_and_throttled(app_client: TestClient) -> None:
    for _ in range(5):
        assert sign_in(app_client, "admin", "not-the-password") == 401
    failures = _audit(app_client, "console.login_failed")
    assert len(failures) == 5 and failures[0]["actor"] == "admin"
    assert sign_in(app_client, "admin") == 429  # even the right password waits now
    assert sign_in(app_client, "xa") == 303  # another name from the same address is not locked out


def test_sign_in_needs_the_forms_token(app_client: TestClient) -> None:
    app_client.get("/login")
    forged = app_client.post("/login", data={"username": "admin", "password": "admin-password-1", "csrf": "x.y"})
    assert forged.status_code == 400
    assert "kiemke_session" not in app_client.cookies


def test_next_never_leaves_the_site(app_client: TestClient) -> None:
    for bad in ("//evil.example/x", "/\\evil.example", "/\t/evil.example", "https://evil.example"):
        assert 'name="next" value="/"' in app_client.get("/login", params={"next": bad}).text, bad
    form = app_client.get("/login?next=//evil.example/x")
    assert 'value="/"' in form.text
    response = app_client.post("/login", data={"username": "admin", "password": "admin-password-1",
                                               "csrf": csrf_of(form.text), "next": "https://evil.example/"})
    assert response.headers["location"] == "/"


def test_sign_out_needs_the_token_and_ends_the_session(admin: TestClient) -> None:
    cookie = admin.cookies["kiemke_session"]
    assert admin.post("/logout", data={"csrf": "wrong"}).status_code == 403
    page = admin.get("/")
    assert admin.post("/logout", data={"csrf": csrf_of(page.text)}).status_code == 303
    admin.cookies.set("kiemke_session", cookie)  # a copy kept from before is worthless now
    assert admin.get("/").status_code == 303


def test_a_tampered_or_disabled_session_is_refused(admin: TestClient) -> None:
    cookie = admin.cookies["kiemke_session"]
    body, _, mac = cookie.partition(".")
    admin.cookies.set("kiemke_session", body[:-2] + "AA." + mac)
    assert admin.get("/").status_code == 303
    admin.cookies.set("kiemke_session", cookie)
    assert admin.get("/").status_code == 200
    with admin.app.state.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(sa.update(table_of(User)).where(table_of(User).c.username == "admin").values(disabled=True))
    assert admin.get("/").status_code == 303


def test_devices_filtered_by_unit(admin: TestClient) -> None:
    page = admin.get("/devices", params={"unit": "X01"}).text
    assert "X01-PC01" in page and "PB01-PC01" not in page
    everything = admin.get("/devices", params={"q": "PC01"}).text
    assert "X01-PC01" in everything and "PB01-PC01" in everything


def test_air_gap_violations_come_first(admin: TestClient) -> None:
    page = admin.get("/devices", params={"issue": "any"}).text
    rows = re.findall(r"<tr class=\"([^\"]*)\">", page)
    assert rows[0].startswith("row-danger")
    assert page.index("PB07-MAT") < page.index("X01-PC01")
    assert "Máy xử lý văn bản mật đang kết nối internet" in page


def test_a_viewer_sees_only_their_unit(commune_viewer: TestClient) -> None:
    page = commune_viewer.get("/devices").text
    assert "X01-PC01" in page
    assert "PB01-PC" not in page and "PB07-MAT" not in page
    assert "Toàn huyện" not in page  # no way to pick the whole district
    for path in ("/devices?unit=PB01", "/?unit=PB01", "/units?unit=PH", "/devices.csv?unit=PB01",
                 "/report?unit=PB01", "/devices?unit=NO-SUCH-UNIT"):
        response = commune_viewer.get(path)
        assert response.status_code == 403, path
        assert "PB01-PC" not in response.text
    exported = commune_viewer.get("/devices.csv").text
    assert "X01-PC01" in exported and "PB01-PC" not in exported
    units = commune_viewer.get("/units").text
    assert "Phòng Nội vụ" not in units


def test_host_names_are_escaped(commune_viewer: TestClient) -> None:
    page = commune_viewer.get("/devices").text
    assert SCRIPT_HOST not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_csv_has_stable_columns_and_defuses_formulas(admin: TestClient) -> None:
    response = admin.get("/devices.csv", params={"unit": "X01"})
    assert response.headers["content-disposition"].startswith('attachment; filename="thiet-bi-')
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    by_host = {row[CSV_COLUMNS.index("hostname")]: dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]}
    assert by_host[SCRIPT_HOST]["unit"] == "X01"
    assert all(r["unit"] == "X01" for r in by_host.values())
    assert all(not v.startswith(("=", "+", "@")) for r in by_host.values() for v in r.values())


def test_report_downloads_as_word_and_markdown(admin: TestClient) -> None:
    response = admin.get("/report", params={"unit": "X01"})
    assert response.status_code == 200
    assert 'filename="bao-cao-' in response.headers["content-disposition"]
    opened = docx.Document(BytesIO(response.content))
    assert any(p.text.startswith("8. ") for p in opened.paragraphs)
    markdown = admin.get("/report", params={"format": "md", "lang": "en"}).text
    assert "8. Information security" in markdown
    assert _audit(admin, "console.report")[0]["unit"] == "X01"


def test_bad_date_and_past_date(admin: TestClient) -> None:
    assert admin.get("/", params={"as_of": "30/11/2026"}).status_code == 400
    past = admin.get("/", params={"as_of": "2024-05-18"})
    assert past.status_code == 200 and "18/05/2024" in past.text
    future = admin.get("/", params={"as_of": "9999-12-31"})
    assert future.status_code == 200 and "Ngày đã chọn chưa đến" in future.text
    before_anything = admin.get("/", params={"as_of": "2000-01-01", "unit": "X01"})
    assert before_anything.status_code == 404


def test_report_api_reads_the_console_session_and_its_reach(app_client: TestClient) -> None:
    params = {"format": "md", "unit": "X01"}
    assert app_client.get("/api/v1/report", params=params).status_code == 401
    assert sign_in(app_client, "xa") == 303
    assert app_client.get("/api/v1/report", params=params).status_code == 200
    assert app_client.get("/api/v1/report", params={"format": "md", "unit": "PB01"}).status_code == 403
    assert app_client.get("/api/v1/report", params={"format": "md"}).status_code == 403
    assert app_client.get("/api/v1/report/kept/1").status_code == 403


def test_audit_log_is_for_admins(app_client: TestClient) -> None:
    assert sign_in(app_client, "admin", "wrong-password-here") == 401
    assert sign_in(app_client, "xa") == 303
    assert app_client.get("/audit").status_code == 403
    assert 'href="/audit"' not in app_client.get("/").text
    app_client.cookies.clear()
    assert sign_in(app_client, "admin") == 303
    page = app_client.get("/audit", params={"action": "console.login_failed"})
    assert page.status_code == 200 and 'href="/audit"' in page.text
    assert "console.login_failed" in page.text and "console.login<" not in page.text
