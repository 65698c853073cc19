"""The inventory list: filters that combine, sorting, page size, and the CSV/XLSX exports of what is filtered."""

from __future__ import annotations

import io
import json
import re

import openpyxl
import sqlalchemy as sa
from fastapi.testclient import TestClient

from server.clock import local_today
from server.db import reading
from server.models import AuditLog, table_of
from server.services.figure import Coverage
from server.services.figures import figures_as_of
from server.services.policy import Policy
from server.services.state import Snapshot
from tests.server.console.conftest import csrf_of, sign_in

ROW_LINK = re.compile(r'<a class="name" href="/devices/(\d+)')


def _computed(client: TestClient) -> tuple[Snapshot, Coverage]:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    with reading(client.app.state.engine) as session:  # type: ignore[attr-defined]
        figures = figures_as_of(session, local_today(settings.tz), policy=Policy.from_settings(settings),
                                tz=settings.tz)
    return figures.snapshot, figures.coverage


def _ids(client: TestClient, query: str) -> list[int]:
    page = client.get("/devices?size=500&" + query)
    assert page.status_code == 200, page.text
    return [int(i) for i in ROW_LINK.findall(page.text)]


def test_filters_combine(admin: TestClient) -> None:
    snap, cov = _computed(admin)
    by_id = {d.id: d for d in snap.devices}
    both = _ids(admin, "kind=desktop&status=in_use&issue=firewall_off&issue=os_unsupported")
    expected = {d.id for d in snap.devices if d.kind == "desktop" and d.status == "in_use"
                and {"firewall_off", "os_unsupported"} <= set(cov.assessments[d.id].issues)}
    assert set(both) == expected and expected
    defender = _ids(admin, "av=Windows Defender&air_gapped=no")
    assert defender and all(any(p.name == "Windows Defender" for p in by_id[i].antivirus) for i in defender)
    old = _ids(admin, "age=8%2B")
    assert old and all((cov.assessments[i].age_years or 0) >= 8 for i in old)
    bands = [_ids(admin, f"age={band}") for band in ("0-3", "3-5", "5-8", "8%2B", "unknown")]
    assert sorted(i for band in bands for i in band) == sorted(_ids(admin, ""))  # every device in one band
    unseen = _ids(admin, "unseen=40")
    assert unseen and all(by_id[i].kind in ("desktop", "laptop", "server") for i in unseen)
    assert set(unseen) >= {i for i in unseen if "not_seen_recently" in cov.assessments[i].issues}
    assert set(_ids(admin, "unit=PB01&kind=printer")) == {d.id for d in snap.devices
                                                          if d.unit_code == "PB01" and d.kind == "printer"}


def test_own_unit_without_sub_units(admin: TestClient) -> None:
    snap, _ = _computed(admin)
    parents = {u.parent_code for u in snap.units if u.parent_code}
    root = next(u.code for u in snap.units if u.code in parents and any(d.unit_code == u.code for d in snap.devices))
    own = _ids(admin, f"unit={root}&subunits=0")
    assert set(own) == {d.id for d in snap.devices if d.unit_code == root}
    assert len(_ids(admin, f"unit={root}")) > len(own)


def test_sorting_and_page_size(admin: TestClient) -> None:
    _, cov = _computed(admin)
    ages = [cov.assessments[i].age_years for i in _ids(admin, "sort=age&dir=desc&kind=desktop")]
    known = [a for a in ages if a is not None]
    assert known == sorted(known, reverse=True) and ages[: len(known)] == known
    page = admin.get("/devices?size=25&sort=name")
    assert len(ROW_LINK.findall(page.text)) == 25
    assert 'aria-sort="ascending"' in page.text and "size=25" in page.text  # the pager keeps the size
    assert "<th scope=\"col\"" in page.text


def test_xlsx_is_what_is_filtered_with_the_leaders_columns(admin: TestClient) -> None:
    shown = _ids(admin, "kind=desktop&issue=firewall_off")
    assert shown
    workbook = admin.get("/devices.xlsx?kind=desktop&issue=firewall_off")
    assert workbook.status_code == 200
    disposition = workbook.headers["content-disposition"]
    assert 'filename="thiet-bi-' in disposition and '.xlsx"' in disposition
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Đơn vị", "Loại", "Tên thiết bị") and "Hệ điều hành" in rows[0]
    assert len(rows) - 1 == len(shown)
    assert {r[1] for r in rows[1:]} == {"Máy tính để bàn"}
    english = openpyxl.load_workbook(io.BytesIO(admin.get("/devices.xlsx?kind=desktop&lang=en").content)).active
    assert english is not None and next(english.iter_rows(values_only=True))[:3] == ("Unit", "Kind", "Device")
    csv_rows = admin.get("/devices.csv?kind=desktop&issue=firewall_off").text.strip().splitlines()
    assert len(csv_rows) - 1 == len(shown)
    log = table_of(AuditLog)
    with admin.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        exports = [json.loads(d) for d in conn.execute(sa.select(log.c.detail).where(
            log.c.action == "console.export").order_by(log.c.id)).scalars()]
    assert [e["format"] for e in exports] == ["xlsx", "xlsx", "csv"]
    assert exports[0]["rows"] == len(shown) and exports[0]["filters"] == {"kind": "desktop", "issue": "firewall_off"}


def test_formula_cells_are_neutralised_in_the_workbook(admin: TestClient) -> None:
    form = admin.get("/devices/new?unit=X01")
    for name in ("=HYPERLINK(\"http://evil\")", "+1+1", "-2", "@SUM(A1)"):
        assert admin.post("/devices/new", data={"csrf": csrf_of(form.text), "name": name, "unit": "X01",
                                                "kind": "camera"}).status_code == 303
    sheet = openpyxl.load_workbook(io.BytesIO(admin.get("/devices.xlsx?unit=X01&kind=camera").content)).active
    assert sheet is not None
    names = {row[2].value: row[2].data_type for row in sheet.iter_rows(min_row=2)}
    assert names.pop("Camera bộ phận một cửa") == "s"  # the demo's own camera
    assert names == {"'=HYPERLINK(\"http://evil\")": "s", "'+1+1": "s", "'-2": "s", "'@SUM(A1)": "s"}


def test_a_bound_officer_exports_only_their_unit(app_client: TestClient) -> None:
    assert sign_in(app_client, "pb") == 303
    sheet = openpyxl.load_workbook(io.BytesIO(app_client.get("/devices.xlsx").content)).active
    assert sheet is not None
    assert {r[0] for r in sheet.iter_rows(min_row=2, values_only=True)} == {"Văn phòng HĐND và UBND huyện"}
    assert app_client.get("/devices.xlsx?unit=X01").status_code == 403
