"""The exports' workbook writer: what a spreadsheet reader (openpyxl here) reads back is what was written."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import openpyxl

from server.console.xlsx_writer import workbook

ROWS = [
    ["Máy <in> & \"quét\"", 3.5, datetime(2024, 5, 17, 10, 30), 12, None, "=HYPERLINK(\"x\")"],
    ["tab\there, bell\x07 gone", 0, None, 7, "", "@SUM(A1)"],
]


def test_reads_back_with_types_formats_and_the_header_frozen() -> None:
    data = workbook("Thiết bị: [2024]?", ["Đơn vị", "Tuổi", "Lần cuối", "Số", "Trống", "Công thức"], ROWS,
                    datetime_format="dd/mm/yyyy hh:mm")
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.active
    assert sheet.title == "Thiết bị   2024"  # Excel refuses []:*?/\ in a sheet name
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == ["Đơn vị", "Tuổi", "Lần cuối", "Số", "Trống", "Công thức"]
    assert sheet["A1"].font.b
    first = [c.value for c in sheet[2]]
    assert first == ["Máy <in> & \"quét\"", 3.5, datetime(2024, 5, 17, 10, 30), 12, None, "=HYPERLINK(\"x\")"]
    assert sheet["C2"].number_format == "dd/mm/yyyy hh:mm" and sheet["C2"].is_date
    assert sheet["F2"].data_type == "s"  # text that looks like a formula stays text
    second = [c.value for c in sheet[3]]
    assert second == ["tab\there, bell gone", 0, None, 7, None, "@SUM(A1)"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()  # no formula anywhere


def test_many_rows_stream_and_column_names_pass_z() -> None:
    header = [f"c{i}" for i in range(30)]
    rows = ([n] * 30 for n in range(2000))
    sheet = openpyxl.load_workbook(io.BytesIO(workbook("S", header, rows))).active
    assert sheet.max_row == 2001 and sheet.max_column == 30
    assert sheet["AD2001"].value == 1999
