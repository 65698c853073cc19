"""The device exports' one-sheet workbook, written by XlsxWriter in its streaming (constant memory) mode.

An export of ten thousand devices has over a hundred thousand cells: XlsxWriter writes each row as it comes
instead of keeping an object per cell. Text is always written as text (never a formula, a number or a link,
whatever it starts with), numbers as numbers, date-times with a date format, empty values left out; the
header row is bold and stays in view (a frozen pane). Characters XML cannot carry (control characters) are
dropped, so no device name can break the file.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Sequence
from datetime import datetime

import xlsxwriter

Cell = str | int | float | datetime | None

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: Excel refuses these in a sheet's name.
_NOT_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def sheet_title(name: str) -> str:
    """``name`` as Excel accepts a sheet's name: no ``[]:*?/\\`` or control characters, at most 31 long."""
    return _NOT_IN_SHEET_NAME.sub(" ", _ILLEGAL.sub("", name)).strip()[:31] or "Sheet1"


def workbook(sheet_name: str, header: Sequence[str], rows: Iterable[Sequence[Cell]], *,
             datetime_format: str = "yyyy-mm-dd hh:mm") -> bytes:
    """The workbook's bytes: one sheet named ``sheet_name`` with a bold, frozen ``header`` row, then ``rows``.

    Strings are written as text exactly as given (the caller neutralises what a spreadsheet would run as a
    formula when it reopens the file as CSV); date-times must be naive local times.
    """
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "constant_memory": True, "strings_to_numbers": False,
                                     "strings_to_formulas": False, "strings_to_urls": False})
    bold, when = book.add_format({"bold": True}), book.add_format({"num_format": datetime_format})
    sheet = book.add_worksheet(sheet_title(sheet_name))
    sheet.freeze_panes(1, 0)
    for column, title in enumerate(header):
        sheet.write_string(0, column, _ILLEGAL.sub("", title), bold)
    for number, values in enumerate(rows, 1):
        for column, value in enumerate(values[:len(header)]):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                sheet.write_string(number, column, _ILLEGAL.sub("", value))
            elif isinstance(value, datetime):
                sheet.write_datetime(number, column, value.replace(tzinfo=None), when)
            elif isinstance(value, bool):
                sheet.write_boolean(number, column, value)
            elif math.isfinite(value):
                sheet.write_number(number, column, value)
    book.close()
    return out.getvalue()
