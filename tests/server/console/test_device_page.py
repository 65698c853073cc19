"""The device page, hand edits and hand entry, and the console's own error pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import json
import re
from datetime import date, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from server.clock import local_today
from server.db import reading
from server.models import AuditLog, Device, DeviceVersion, OrgUnit, table_of
from server.services.figure import Coverage
from server.services.figures import figures_as_of
from server.services.policy import Policy
from server.services.state import DeviceState
from tests.server.console.conftest import csrf_of, sign_in

XSS = "<img src=x onerror=alert(1)>"


def _engine(client: TestClient) -> sa.Engine:
    engine: sa.Engine = client.app.state.engine  # type: ignore[attr-defined]
    return engine


def _coverage(client: TestClient, as_of: date | None = None) -> Coverage:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    with reading(_engine(client)) as session:
        return figures_as_of(session, as_of or local_today(settings.tz), policy=Policy.from_settings(settings),
                             tz=settings.tz).coverage


def _snapshot_devices(client: TestClient) -> tuple[DeviceState, ...]:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    with reading(_engine(client)) as session:
        figures = figures_as_of(session, local_today(settings.tz), policy=Policy.from_settings(settings),
                                tz=settings.tz)
    return figures.snapshot.devices


def _device_id(client: TestClient, **where: object) -> int:
    d, u = table_of(Device).c, table_of(OrgUnit).c
    query = sa.select(d.id).join(table_of(OrgUnit), u.id == d.unit_id).order_by(d.id)
    for name, value in where.items():
        query = query.where(u.code == value if name == "unit" else d[name] == value)
    with _engine(client).connect() as conn:
        found = conn.execute(query).scalar()
    assert found is not None, where
    return int(found)


def _audit(client: TestClient, action: str) -> list[dict[str, object]]:
    log = table_of(AuditLog)
    with _engine(client).connect() as conn:
        rows = conn.execute(sa.select(log.c.actor, log.c.detail).where(log.c.action == action)
                            .order_by(log.c.id)).all()
    return [{"actor": r.actor, **json.loads(r.detail)} for r in rows]


def _form(client: TestClient, path: str) -> dict[str, str]:
    """The values a browser would send back unchanged from the edit form at ``path``."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    values = {"csrf": csrf_of(page.text)}
    d = _current_values(page.text)
    values.update(d)
    return values


def _current_values(text: str) -> dict[str, str]:
    import re

    values = {m[0]: html.unescape(m[1]) for m in re.findall(r'<input id="f-\w+" name="(\w+)" value="([^"]*)"', text)}
    for name in ("unit", "kind", "status"):
        block = re.search(rf'name="{name}".*?</select>', text, re.S)
        assert block is not None
        chosen = re.search(r'<option value="([^"]+)" selected', block.group(0))
        values[name] = chosen.group(1) if chosen else ""
    if re.search(r'name="air_gapped" value="on" checked', text):
        values["air_gapped"] = "on"
    return values


def _officer(app_client: TestClient) -> TestClient:
    assert sign_in(app_client, "pb") == 303
    return app_client


def test_every_device_name_links_to_its_page_with_its_facts(admin: TestClient) -> None:
    listed = admin.get("/devices?q=PB01-PC01").text
    pc = _device_id(admin, hostname="PB01-PC01")
    assert f'href="/devices/{pc}"' in listed
    page = admin.get(f"/devices/{pc}")
    assert page.status_code == 200
    text = page.text
    assert "Thiết bị: PB01-PC01" in text
    for shown in ("Microsoft Windows", "Windows Defender", "198.51.100.", "Ethernet", "Domain", "WDC WD5000AAKX",
                  "Báo cáo của phần mềm kiểm kê", "Căn cứ được dùng", "0.1.0-sim"):
        assert shown in text, shown
    # Each piece of age evidence is listed; exactly one decided.
    assert text.count('class="decided"') == 1
    # The monitor seen with it links to its own page, which names its computer.
    monitor = _device_id(admin, kind="monitor", unit="PB01")
    assert f'href="/devices/{monitor}"' in text or "Màn hình" in text
    english = admin.get(f"/devices/{pc}?lang=en").text
    assert "History of changes" in english and "Inventory agent report" in english


def test_a_device_out_of_reach_reads_as_not_found(app_client: TestClient) -> None:
    assert sign_in(app_client, "xa") == 303
    other = _device_id(app_client, unit="PB01")
    for path in (f"/devices/{other}", "/devices/99999999"):
        page = app_client.get(path)
        assert page.status_code == 404, path
        assert "<h1>Không tìm thấy</h1>" in page.text and "PB01" not in page.text


def test_console_errors_are_its_own_pages_in_the_users_language(admin: TestClient) -> None:
    bad = admin.get("/devices?page=0")
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/html")
    assert "<h1>Yêu cầu không hợp lệ</h1>" in bad.text and "page" in bad.text
    missing = admin.get("/no-such-page?lang=en")
    assert missing.status_code == 404 and "<h1>Not found</h1>" in missing.text
    unknown = admin.get("/devices?unit=NO-SUCH-UNIT&lang=vi")
    assert unknown.status_code == 404 and "<h1>Không tìm thấy</h1>" in unknown.text
    assert admin.get("/devices/not-a-number").status_code == 400
    api = admin.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}  # the API keeps JSON


def test_officer_corrects_a_purchase_date(app_client: TestClient) -> None:
    officer = _officer(app_client)
    today = local_today(officer.app.state.settings.tz)  # type: ignore[attr-defined]
    before = _coverage(officer)
    yesterday = _coverage(officer, today - timedelta(days=1)).figures["past_service_life"]
    pb01 = {d.id for d in _snapshot_devices(officer) if d.unit_code == "PB01" and d.kind == "desktop"}
    pc = next(d for d, a in sorted(before.assessments.items())
              if d in pb01 and not a.past_service_life and a.age_source != "unknown")
    values = _form(officer, f"/devices/{pc}/edit")
    old = values["purchased_on"]
    values["purchased_on"] = "15/03/2012"
    saved = officer.post(f"/devices/{pc}/edit", data=values)
    assert saved.status_code == 303 and saved.headers["location"] == f"/devices/{pc}?saved=1"

    page = officer.get(saved.headers["location"]).text
    assert "Đã lưu" in page and "15/03/2012" in page and "Sửa tay bởi pb" in page
    assert "Quá hạn" in page
    after = _coverage(officer)
    assert after.assessments[pc].past_service_life and after.assessments[pc].age_source == "purchase_record"
    assert after.figures["past_service_life"].numerator == before.figures["past_service_life"].numerator + 1
    # An earlier cut-off keeps its figures: the edit is a new version, not a rewrite.
    assert _coverage(officer, today - timedelta(days=1)).figures["past_service_life"] == yesterday
    entry = _audit(officer, "device.edit")[-1]
    assert entry["actor"] == "pb" and entry["device_id"] == pc
    assert entry["changes"] == {"purchased_on": [old or None, "2012-03-15"]}
    with _engine(officer).connect() as conn:
        versions = conn.execute(sa.select(sa.func.count()).where(table_of(DeviceVersion).c.device_id == pc)).scalar()
    assert versions == 2


def test_marking_a_pc_air_gapped_counts_it(app_client: TestClient) -> None:
    officer = _officer(app_client)
    pc = _device_id(officer, hostname="PB01-PC02")
    before = _coverage(officer).figures["computers_air_gapped"].numerator
    values = _form(officer, f"/devices/{pc}/edit")
    values["air_gapped"] = "on"
    assert officer.post(f"/devices/{pc}/edit", data=values).status_code == 303
    assert _coverage(officer).figures["computers_air_gapped"].numerator == before + 1
    assert _audit(officer, "device.edit")[-1]["changes"] == {"air_gapped": [False, True]}


def test_a_refused_field_is_named_in_the_form(app_client: TestClient) -> None:
    officer = _officer(app_client)
    pc = _device_id(officer, hostname="PB01-PC01")
    values = _form(officer, f"/devices/{pc}/edit")
    values["purchased_on"] = "31/02/2024"
    refused = officer.post(f"/devices/{pc}/edit", data=values)
    assert refused.status_code == 400
    assert 'id="err-purchased_on"' in refused.text and "Ngày không hợp lệ" in refused.text
    assert 'value="31/02/2024"' in refused.text  # what was typed stays in the form
    values["purchased_on"] = "2999-01-01"
    assert "không thể sau hôm nay" in officer.post(f"/devices/{pc}/edit", data=values).text
    values["purchased_on"], values["unit"] = "", "X01"  # outside the officer's reach
    assert 'id="err-unit"' in officer.post(f"/devices/{pc}/edit", data=values).text
    assert _audit(officer, "device.edit") == []


def test_an_officer_cannot_touch_another_unit(app_client: TestClient) -> None:
    officer = _officer(app_client)
    mine = _device_id(officer, hostname="PB01-PC01")
    values = _form(officer, f"/devices/{mine}/edit")
    other = _device_id(officer, unit="X01")
    assert officer.get(f"/devices/{other}/edit").status_code == 404
    assert officer.post(f"/devices/{other}/edit", data=values).status_code == 404
    assert _audit(officer, "device.edit") == []


def test_a_viewer_sees_no_edit_controls_and_every_post_is_refused(app_client: TestClient) -> None:
    assert sign_in(app_client, "xa") == 303
    pc = _device_id(app_client, unit="X01", kind="desktop")
    page = app_client.get(f"/devices/{pc}").text
    assert f"/devices/{pc}/edit" not in page and "/devices/new" not in app_client.get("/devices").text
    token = csrf_of(page)  # the sign-out form's token: a real session's token does not help
    for path in (f"/devices/{pc}/edit", "/devices/new"):
        refused = app_client.post(path, data={"csrf": token, "name": "x", "unit": "X01", "kind": "scanner"})
        assert refused.status_code == 403, path
        assert "<h1>Không được phép</h1>" in refused.text
        assert app_client.get(path).status_code == 403
    assert _audit(app_client, "device.edit") == [] and _audit(app_client, "device.create") == []


def test_a_post_without_the_forms_token_is_refused(app_client: TestClient) -> None:
    officer = _officer(app_client)
    pc = _device_id(officer, hostname="PB01-PC01")
    values = _form(officer, f"/devices/{pc}/edit")
    values["csrf"] = "forged"
    assert officer.post(f"/devices/{pc}/edit", data=values).status_code == 403
    del values["csrf"]
    assert officer.post(f"/devices/{pc}/edit", data=values).status_code == 403


def test_adding_a_scanner_raises_units_with_a_scanner(admin: TestClient) -> None:
    before = _coverage(admin).figures["units_with_scanner"]
    lacking = sorted(set(_coverage(admin).per_unit) - {str(i) for i in before.items})
    unit = lacking[0]
    form = admin.get(f"/devices/new?unit={unit}")
    created = admin.post("/devices/new", data={
        "csrf": csrf_of(form.text), "name": "Máy scan tầng 2", "unit": unit, "kind": "scanner",
        "status": "in_use", "vendor": "Canon", "model": "DR-C230", "serial": "SCAN-0001", "purchased_on": "2025-06-01"})
    assert created.status_code == 303
    new_id = int(created.headers["location"].split("/")[2].split("?")[0])
    after = _coverage(admin).figures["units_with_scanner"]
    assert after.numerator == before.numerator + 1 and unit in {str(i) for i in after.items}
    page = admin.get(f"/devices/{new_id}").text
    assert "Máy scan tầng 2" in page and "Nhập tay bởi admin" in page
    assert _audit(admin, "device.create")[-1]["changes"]["serial"] == [None, "SCAN-0001"]  # type: ignore[index]
    again = admin.post("/devices/new", data={"csrf": csrf_of(form.text), "name": "twin", "unit": unit,
                                             "kind": "scanner", "serial": "scan-0001"})
    assert again.status_code == 400 and 'id="err-serial"' in again.text


def test_a_hand_entered_name_is_text_everywhere(admin: TestClient) -> None:
    form = admin.get("/devices/new?unit=X01")
    created = admin.post("/devices/new", data={"csrf": csrf_of(form.text), "name": XSS, "unit": "X01",
                                               "kind": "printer", "status": "in_use"})
    assert created.status_code == 303
    path = created.headers["location"]
    for text in (admin.get(path).text, admin.get("/devices?q=onerror").text, admin.get("/audit").text):
        assert XSS not in text and html.escape(XSS, quote=False) in text
    csv_text = admin.get("/devices.csv?q=onerror").text
    assert XSS in csv_text  # a CSV is data, not a page: the text is kept as typed


def test_search_ignores_marks_and_case(admin: TestClient) -> None:
    marked = admin.get("/devices?q=máy in").text
    plain = admin.get("/devices?q=may in").text
    upper = admin.get("/devices?q=MAY IN").text
    count = marked.split('class="count"><b>')[1].split("<")[0]
    assert count != "0 thiết bị" and count in plain and count in upper
    assert "Máy in" in plain


def test_a_figure_without_data_is_grey_and_says_so(admin: TestClient) -> None:
    page = admin.get("/?as_of=2020-01-01").text  # before the district's first record
    assert "stat ok" not in page and page.count("stat nodata") == 2
    assert "chưa có số liệu" in page and "Không có máy tính nào cần xử lý" not in page
    assert 'class="fill good"' not in page


def test_every_page_has_a_skip_link_a_favicon_and_scoped_headers(admin: TestClient) -> None:
    for path in ("/", "/devices", "/units", "/audit", f"/devices/{_device_id(admin, hostname='PB01-PC01')}"):
        text = admin.get(path).text
        assert '<a class="skip" href="#main">' in text and '<main id="main"' in text, path
        assert 'rel="icon" href="/static/favicon.svg"' in text, path
        assert "<th>" not in text, path  # every header cell says what it heads
    assert admin.get("/static/favicon.svg").headers["content-type"].startswith("image/svg")


def test_a_long_history_pages_its_timeline_newest_first(admin: TestClient) -> None:
    """120 daily reports, each with a new address: pages of 50 changes, then 50, then the rest, none twice."""
    import uuid
    from datetime import datetime, time, timezone

    from server.console.device_detail import TIMELINE_LIMIT
    from server.models import Observation

    pc = _device_id(admin, hostname="PB01-PC01")
    settings = admin.app.state.settings  # type: ignore[attr-defined]
    first = datetime.combine(local_today(settings.tz) - timedelta(days=200), time(3), tzinfo=timezone.utc)
    rows = [{"device_id": pc, "observed_at": first + timedelta(days=n), "received_at": first + timedelta(days=n),
             "report_id": uuid.uuid4(), "content_hash": uuid.uuid4().hex, "hostname": "PB01-PC01",
             "facts": json.dumps({"hostname": "PB01-PC01", "network": {"interfaces": [
                 {"name": "Ethernet", "ipv4": [f"10.9.{n // 200}.{n % 200 + 1}"]}]}})} for n in range(120)]
    with _engine(admin).begin() as conn:
        conn.execute(table_of(Observation).insert(), rows)
    pages = []
    for number in (1, 2, 3, 4):
        text = admin.get(f"/devices/{pc}" + (f"?changes={number}" if number > 1 else "")).text
        pages.append((text.count('<time datetime="'), "changes=" + str(number + 1) in text,
                      re.findall(r'<li class="origin-(\w+)"><time datetime="([^"]+)"', text)))
    assert [(n, older) for n, older, _ in pages[:2]] == [(TIMELINE_LIMIT, True)] * 2
    assert pages[2][0] > 20  # the rest: the year's 120 addresses and the reports' own history
    shown = [entry for _, _, found in pages[:3] for entry in found]
    times = [at for _, at in shown]
    assert times == sorted(times, reverse=True) and len(set(shown)) == len(shown)  # newest first, none twice
    assert not pages[2][1] and pages[3][0] == 0
    assert "Các thay đổi mới hơn" in admin.get(f"/devices/{pc}?changes=2").text
    assert admin.get(f"/devices/{pc}?changes=0").status_code == 400
