"""Import from the page: a template to fill, a preview of what would be created, updated and refused (row and
reason) that writes nothing, then one commit of the same upload, audited; scoped to the officer's units."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

from server.models import AuditLog, Device, table_of
from server.services.sheet_templates import COLUMNS, HEADER_ALIASES, column_key
from tests.server.console.conftest import csrf_of, sign_in
from tests.server.console.test_device_page import _engine


def _devices(client: TestClient) -> int:
    with _engine(client).connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table_of(Device))).scalar_one())


def _imports(client: TestClient) -> list[tuple[str, str]]:
    log = table_of(AuditLog).c
    with _engine(client).connect() as conn:
        return [(r.actor, r.action) for r in conn.execute(
            sa.select(log.actor, log.action).where(log.action.like("%.import")).order_by(log.id))]


def _preview(client: TestClient, kind: str, name: str, data: bytes) -> tuple[int, str]:
    page = client.get("/import")
    answer = client.post("/import/preview", data={"csrf": csrf_of(page.text), "kind": kind},
                         files={"file": (name, data)})
    return answer.status_code, answer.text


def _count(text: str, name: str) -> str:
    found = re.search(rf'id="count-{name}">([^<]+)<', text)
    assert found, name
    return found.group(1)


ASSETS_VI = ("Thuộc đơn vị (mã),Loại thiết bị,Tên thiết bị,Số sê-ri,Tình trạng,Ghi chú\n"
             "PB01,scanner,Máy quét phòng 1,SCAN-PAGE-1,in_use,Mới\n"
             "PB01,toaster,Máy lạ,ODD-PAGE-1,in_use,\n"
             "X01,printer,Máy in của xã,PRN-PAGE-1,in_use,\n"
             "PB01,printer,Máy in phòng 1,PRN-PAGE-2,broken,Kẹt giấy\n")


def test_an_officer_previews_a_sheet_with_a_bad_row_then_commits_the_good_rows(app_client: TestClient) -> None:
    assert sign_in(app_client, "pb") == 303  # an officer of PB01
    before, imports = _devices(app_client), _imports(app_client)
    status, text = _preview(app_client, "assets", "thiet-bi.csv", ASSETS_VI.encode())
    assert status == 200
    assert (_count(text, "created"), _count(text, "refused")) == ("2", "2")
    assert re.search(r'<th scope="row" class="num">3</th><td>kind: .*toaster', text)  # row number and reason
    assert re.search(r'<th scope="row" class="num">4</th><td>unit: .*X01.* is not among your units', text)
    assert _devices(app_client) == before and _imports(app_client) == imports  # the preview wrote nothing
    upload = re.search(r'name="upload" value="([^"]+)"', text)
    assert upload
    form = {"csrf": csrf_of(text), "kind": "assets", "upload": upload.group(1)}
    done = app_client.post("/import/commit", data=form)
    assert done.status_code == 200 and _count(done.text, "created") == "2"
    assert _devices(app_client) == before + 2
    assert _imports(app_client)[-1] == ("pb", "assets.import")
    again = app_client.post("/import/commit", data=form)  # one commit per upload
    assert again.status_code == 409 and _devices(app_client) == before + 2
    listed = app_client.get("/devices", params={"q": "may quet phong 1"}).text
    assert "Máy quét phòng 1" in listed


def test_templates_have_the_consoles_language_and_import_as_they_are(admin: TestClient) -> None:
    vi = admin.get("/import/template/assets?format=csv")
    assert vi.status_code == 200 and vi.text.lstrip("\ufeff").startswith("Thuộc đơn vị (mã),Loại thiết bị")
    book = load_workbook(io.BytesIO(admin.get("/import/template/licences?lang=en").content))
    assert [c.value for c in book.worksheets[0][1]] == ["Antivirus product", "Seats", "Valid from", "Valid to", "Unit"]
    assert book.worksheets[1].title == "Guide"
    # The template filled in and uploaded as it is.
    sheet = book.worksheets[0]
    filled = Workbook()
    filled.active.append([c.value for c in sheet[1]])
    filled.active.append(["Kaspersky Endpoint", 25, "01/01/2025", "31/12/2030", ""])
    out = io.BytesIO()
    filled.save(out)
    status, text = _preview(admin, "licences", "licences.xlsx", out.getvalue())
    assert status == 200 and _count(text, "created") == "1" and _count(text, "refused") == "0"


def test_who_may_import_what(app_client: TestClient) -> None:
    assert sign_in(app_client, "xa") == 303  # a viewer
    assert app_client.get("/import").status_code == 403
    page = app_client.get("/")
    refused = app_client.post("/import/preview", data={"csrf": csrf_of(page.text), "kind": "assets"},
                              files={"file": ("a.csv", ASSETS_VI.encode())})
    assert refused.status_code == 403
    app_client.cookies.clear()
    assert sign_in(app_client, "pb") == 303  # an officer: devices only, not the district's units or licences
    assert "Bản quyền diệt virus" not in app_client.get("/import").text
    assert _preview(app_client, "units", "u.csv", b"code,name,kind\nZZ,Z,commune\n")[0] == 403
    assert app_client.get("/import/template/units").status_code == 403


def test_empty_big_and_foreign_uploads_are_refused_with_a_reason(app_client: TestClient) -> None:
    assert sign_in(app_client, "admin") == 303
    status, text = _preview(app_client, "assets", "empty.csv", b"")
    assert status == 400 and "Hãy chọn một tệp" in text
    status, text = _preview(app_client, "assets", "big.csv", b"unit,kind,name\n" + b"x" * (21 * 1024 * 1024))
    assert status == 400 and "20 MB" in text
    # Another person's upload cannot be committed with its token.
    status, text = _preview(app_client, "assets", "a.csv", b"unit,kind,name\nPB01,scanner,Quet admin\n")
    upload = re.search(r'name="upload" value="([^"]+)"', text)
    assert status == 200 and upload
    app_client.cookies.clear()
    assert sign_in(app_client, "pb") == 303
    stolen = app_client.post("/import/commit", data={"csrf": csrf_of(app_client.get("/").text), "kind": "assets",
                                                     "upload": upload.group(1)})
    assert stolen.status_code == 409


def test_every_header_means_one_column() -> None:
    for kind, columns in COLUMNS.items():
        for key, vi, en, _, _ in columns:
            assert column_key(vi) == key == column_key(en), (kind, key)
            assert column_key(key) == key
    assert len(set(HEADER_ALIASES.values())) <= len(HEADER_ALIASES)
