"""Spreadsheets as they really arrive: odd encodings, huge cells and numbers, wrong dates, bytes that are no sheet.

Every bad row is refused with its number, every good row is kept, and a file that stops being readable ends in
a message (never a traceback) after the rows before it are imported.
"""

from __future__ import annotations

import os
import random
import unicodedata
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import select

from server.db import reading
from server.models import AntivirusLicence, Device, OrgUnit
from server.services.spreadsheets import import_assets, import_licences, import_units

UNITS_HEADER = "code,name,kind,parent,staff,lan,wifi,wan,internet,one_stop_shop\n"
GOOD_UNIT = "PH,UBND huyện,district,,25,có,x,1,fibre,yes\n"


def _sheet(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _units(engine: Engine) -> dict[str, OrgUnit]:
    with reading(engine) as session:
        return {u.code: u for u in session.exec(select(OrgUnit))}


def _cp1258(text: str) -> bytes:
    """``text`` as Windows-1258 writes it: tone marks as combining characters where no precomposed byte exists."""
    out = b""
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            base, mark = unicodedata.decomposition(char).split()
            out += chr(int(base, 16)).encode("cp1258") + chr(int(mark, 16)).encode("cp1258")
    return out


def test_huge_numbers_and_long_cells_are_row_errors(engine: Engine, tmp_path: Path) -> None:
    rows = [
        GOOD_UNIT,
        "XA01,Xã," + "commune,PH," + "9" * 400 + ",,,,,\n",  # a number no column can hold
        "XA02,Xã," + "commune,PH,2000000,,,,,\n",
        "XA03," + "x" * 200_000 + ",commune,PH,,,,,,\n",  # a 200 KB cell
        "XA04," + "y" * 5000 + ",commune,PH,,,,,,\n",
        "XA05," + "z" * 300 + ",commune,PH,,,,,,\n",  # longer than the name column
        "X" * 65 + ",Xã,commune,PH,,,,,,\n",
        "XA06,Xã Tân Long,commune,PH,12,,,,,\n",
    ]
    result = import_units(engine, _sheet(tmp_path, "u.csv", UNITS_HEADER + "".join(rows)), "officer")
    assert [row for row, _ in result.errors] == [3, 4, 5, 6, 7, 8]
    assert all(len(reason) < 200 for _, reason in result.errors)  # the cell is not echoed whole
    assert "staff" in result.errors[0][1] and "staff" in result.errors[1][1] and "code" in result.errors[5][1]
    assert set(_units(engine)) == {"PH", "XA06"} and result.created == 2


def test_random_bytes_as_csv_end_in_a_message_and_keep_the_rows_before(engine: Engine, tmp_path: Path) -> None:
    # Seeded noise after a first line that no encoding this reader tries can hold (0x81 has no character in
    # cp1258): random noise decoded cleanly up to its first line break would move the error to row 2.
    garbage = b"\x81\x00" + random.Random(20261203).randbytes(4096)
    result = import_units(engine, _sheet(tmp_path, "noise.csv", garbage), "officer")
    assert result.file_error is not None and "row 1" in result.file_error and result.created == 0

    good = "".join(f"X{i:03},Xã {i},commune,,{i},,,,,\n" for i in range(300))
    data = _cp1258(UNITS_HEADER + good) + b"X999,\x81\x8d\x8e,commune,,,,,,,\n" + b"X998,ok,commune,,,,,,,\n"
    result = import_units(engine, _sheet(tmp_path, "broken.csv", data), "officer")
    assert result.created == 300 and not result.ok
    assert result.file_error is not None and result.file_error.startswith("row 302:")
    assert "Windows-1258" in result.file_error


def test_random_bytes_or_a_broken_workbook_as_xlsx(engine: Engine, tmp_path: Path) -> None:
    from openpyxl import Workbook

    result = import_units(engine, _sheet(tmp_path, "noise.xlsx", os.urandom(5000)), "officer")
    assert result.file_error is not None and "XLSX" in result.file_error and result.created == 0

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(UNITS_HEADER.strip().split(","))
    sheet.append(["PH", "UBND", "district", None, 7.0, "", "", "", "", ""])
    sheet.append(["XA", "Xã", "commune", "PH", 1e300, "", "", "", "", ""])
    sheet.append(["XB", "Xã B", "commune", "PH", 2**70, "", "", "", "", ""])
    path = tmp_path / "units.xlsx"
    book.save(path)
    result = import_units(engine, path, "officer")
    assert [row for row, _ in result.errors] == [3, 4] and "staff" in result.errors[0][1]
    assert _units(engine)["PH"].staff == 7
    # A workbook cut short (a failed USB copy) is a message too.
    truncated = _sheet(tmp_path, "cut.xlsx", path.read_bytes()[:600])
    assert import_units(engine, truncated, "officer").file_error is not None
    # A workbook named .csv is still read as a workbook.
    renamed = _sheet(tmp_path, "units-really.csv", path.read_bytes())
    assert import_units(engine, renamed, "officer").refused == 2


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1258"])
def test_encodings_are_read_and_text_is_nfc(engine: Engine, tmp_path: Path, encoding: str) -> None:
    text = UNITS_HEADER + "PH,Trường TH Hòa An,school,,25,có,không,,,\n"
    data = _cp1258(text) if encoding == "cp1258" else text.encode(encoding)
    result = import_units(engine, _sheet(tmp_path, "u.csv", data), "officer")
    assert result.ok and result.created == 1
    unit = _units(engine)["PH"]
    assert unit.name == "Trường TH Hòa An" and unicodedata.is_normalized("NFC", unit.name)
    assert unit.lan is True and unit.wifi is False


def test_decomposed_unicode_and_control_characters(engine: Engine, tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "PH,Xã Tân Long,commune,,3,có,không,,,\n")
    hostile = "XA,Xã\x1b[31m đỏ\x00,commune,PH,,,,,,\n"
    result = import_units(engine, _sheet(tmp_path, "u.csv", UNITS_HEADER + decomposed + hostile), "officer")
    assert result.ok, result.errors
    units = _units(engine)
    assert units["PH"].name == "Xã Tân Long" and units["PH"].lan is True
    assert units["XA"].name == "Xã[31m đỏ"  # the escape and the NUL are gone, the text stays


ASSETS_HEADER = "unit,kind,name,serial,purchased_on\n"


def test_purchase_dates_between_1990_and_the_districts_today(engine: Engine, tmp_path: Path) -> None:
    import_units(engine, _sheet(tmp_path, "u.csv", UNITS_HEADER + GOOD_UNIT), "officer")
    rows = ("PH,desktop,A,SN-A,0001-01-01\nPH,desktop,B,SN-B,31/12/1989\nPH,desktop,C,SN-C,1990-01-01\n"
            "PH,desktop,D,SN-D,2026-12-02\nPH,desktop,E,SN-E,2026-12-03\nPH,desktop,F,SN-F,9999-12-31\n")
    # 17:30 UTC on 1 December is 00:30 on 2 December in the district: the 2nd is today, the 3rd is not.
    with time_machine.travel(datetime(2026, 12, 1, 17, 30, tzinfo=timezone.utc), tick=False):
        result = import_assets(engine, _sheet(tmp_path, "a.csv", ASSETS_HEADER + rows), "officer")
    assert [row for row, _ in result.errors] == [2, 3, 6, 7]
    assert "before 1990-01-01" in result.errors[0][1] and "after 2026-12-02" in result.errors[2][1]
    with reading(engine) as session:
        kept = {d.name: d.purchased_on for d in session.exec(select(Device))}
    assert kept == {"C": date(1990, 1, 1), "D": date(2026, 12, 2)}


def test_licence_bounds(engine: Engine, tmp_path: Path) -> None:
    text = ("product,seats,valid_from,valid_to,unit\nBkav,99999999999999999999,,,\nESET,5,0001-01-01,,\n"
            "Kaspersky,10,2024-01-01,2025-01-01,\n")
    result = import_licences(engine, _sheet(tmp_path, "l.csv", text), "officer")
    assert [row for row, _ in result.errors] == [2, 3] and result.created == 1
    with reading(engine) as session:
        assert [lic.product for lic in session.exec(select(AntivirusLicence))] == ["Kaspersky"]


def test_many_rows_in_chunks_with_repeats_across_chunks(engine: Engine, tmp_path: Path) -> None:
    import_units(engine, _sheet(tmp_path, "u.csv", UNITS_HEADER + GOOD_UNIT), "officer")
    rows = "".join(f"PH,desktop,PC {i},SN{i:06},2020-01-01\n" for i in range(2500))
    rows += "PH,printer,again,sn000007,\nPH,camera,Camera,,\nPH,camera,Camera,,\n"
    result = import_assets(engine, _sheet(tmp_path, "a.csv", ASSETS_HEADER + rows), "officer")
    assert result.created == 2501 and [row for row, _ in result.errors] == [2502, 2504]
    again = import_assets(engine, _sheet(tmp_path, "a.csv", ASSETS_HEADER + rows), "officer")
    assert (again.created, again.unchanged) == (0, 2501)
