"""Spreadsheet imports: CSV and XLSX, bad rows reported by number, good rows kept, later imports update."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from server.db import reading
from server.models import AntivirusLicence, AuditLog, Device, OrgUnit
from server.services.spreadsheets import RowError, import_assets, import_licences, import_units, parse_date, yes_no

UNITS = """code,name,kind,parent,staff,lan,wifi,wan,internet,one_stop_shop,ghi chú
PH,UBND huyện Phụng Hiệp,district,,25,có,x,1,fibre,yes,extra column
XA01,UBND xã Tân Long,commune,PH,12,yes,,0,other,có,
XA02,Xã lỗi,village,PH,5,yes,no,no,fibre,no,
XA03,Xã mồ côi,commune,NOWHERE,5,yes,no,no,fibre,no,
TH01,Trường TH Tân Long,school,XA01,30,maybe,no,no,none,no,
TH02,Trường TH Hòa An,school,XA01,1.200,không,không,không,none,,
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_units_csv_with_bad_rows(engine: Engine, tmp_path: Path) -> None:
    result = import_units(engine, _write(tmp_path, "units.csv", UNITS), "officer")
    assert (result.created, len(result.errors)) == (3, 3)
    assert [row for row, _ in result.errors] == [4, 5, 6]
    assert "kind" in result.errors[0][1] and "NOWHERE" in result.errors[1][1] and "lan" in result.errors[2][1]
    with reading(engine) as session:
        units = {u.code: u for u in session.exec(select(OrgUnit))}
        log = session.exec(select(AuditLog)).one()
    assert units["PH"].lan and units["PH"].wifi and units["PH"].wan and units["PH"].internet == "fibre"
    assert units["XA01"].parent_id == units["PH"].id and units["XA01"].wifi is False
    assert units["TH02"].staff == 1200 and units["TH02"].one_stop_shop is False
    assert log.actor == "officer" and json.loads(log.detail)["errors"] == 3

    sheet = "code,name,kind,parent,staff\nXA01,Xã Tân Long,commune,PH,14\nPH,UBND,district,XA01,\n"
    again = import_units(engine, _write(tmp_path, "u2.csv", sheet), "officer")
    assert (again.updated, again.errors[0][0]) == (1, 3)  # PH under its own child would be a cycle
    with reading(engine) as session:
        xa01 = session.exec(select(OrgUnit).where(OrgUnit.code == "XA01")).one()
    assert xa01.staff == 14 and xa01.lan is True  # columns absent from the sheet keep their value


def test_assets_xlsx_update_by_serial(engine: Engine, tmp_path: Path) -> None:
    from openpyxl import Workbook

    import_units(engine, _write(tmp_path, "units.csv", UNITS), "officer")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Unit", "Kind", "Name", "Vendor", "Model", "Serial", "Purchased on", "Status", "Air gapped"])
    sheet.append(["XA01", "scanner", "Máy quét một cửa", "Canon", "DR-C225", "SC-001", "15/03/2019", "", "không"])
    sheet.append(["XA01", "desktop", "Máy mật", "Dell", "Vostro", "DL-77", date(2016, 1, 4), "in use", "x"])
    sheet.append(["XA01", "fax", "?", "", "", "F-1", "", "", ""])
    sheet.append(["NOPE", "printer", "In", "", "", "P-1", "", "", ""])
    sheet.append(["XA01", "printer", "", "", "", "", "2020-13-01", "", ""])
    sheet.append(["XA01", "camera", "Camera một cửa", "", "", "", "", "", ""])
    path = tmp_path / "assets.xlsx"
    book.save(path)
    result = import_assets(engine, path, "officer")
    assert result.created == 3 and [row for row, _ in result.errors] == [4, 5, 6]
    assert "purchased_on" in result.errors[2][1]

    update = _write(tmp_path, "a2.csv", "unit;kind;serial;status;purchased_on\nXA01;scanner;sc-001;retired;2019-03-16\n"
                                        "XA01;camera;;;\n")
    result = import_assets(engine, update, "officer")
    assert (result.updated, len(result.errors)) == (1, 1)  # a camera without serial needs its name to be found
    with reading(engine) as session:
        scanner = session.exec(select(Device).where(Device.kind == "scanner")).one()
        secret = session.exec(select(Device).where(Device.name == "Máy mật")).one()
    assert (scanner.status, scanner.purchased_on, scanner.vendor) == ("retired", date(2019, 3, 16), "Canon")
    assert secret.air_gapped and secret.status == "in_use"


def test_licences_whole_district_and_per_unit(engine: Engine, tmp_path: Path) -> None:
    import_units(engine, _write(tmp_path, "units.csv", UNITS), "officer")
    text = ("product,seats,valid_from,valid_to,unit\nBkav Pro,100,2024-01-01,31/12/2024,\n"
            "Kaspersky,10,2024-01-01,2025-01-01,XA01\nESET,-3,,,\nESET,5,2024-05-01,2024-01-01,\n")
    result = import_licences(engine, _write(tmp_path, "lic.csv", text), "officer")
    assert result.created == 2 and [row for row, _ in result.errors] == [4, 5]
    again = import_licences(engine, _write(tmp_path, "lic2.csv", "product,seats,valid_from,valid_to,unit\n"
                                                                 "bkav pro,120,2024-01-01,2024-12-31,\n"), "officer")
    assert again.updated == 1
    with reading(engine) as session:
        bkav = session.exec(select(AntivirusLicence).where(AntivirusLicence.unit_id == None)).one()  # noqa: E711
    assert bkav.seats == 120 and bkav.valid_to == date(2024, 12, 31)


def test_cells() -> None:
    assert [yes_no(v, "c") for v in ("có", "KHÔNG", "x", "", "1", "0", "Yes")] == [True, False, True, False, True,
                                                                                  False, True]
    assert parse_date("05/01/2020", "d") == date(2020, 1, 5) and parse_date("", "d") is None
    with pytest.raises(RowError):
        yes_no("maybe", "lan")
