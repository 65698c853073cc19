"""A one-sheet Excel workbook (Office Open XML, ECMA-376) written directly: the device exports' file format.

A general spreadsheet library builds an object per cell and checks it; an export of ten thousand devices has
over a hundred thousand cells, and that cost made the download slow. This writes the few parts a workbook
needs (content types, relationships, workbook, styles, the sheet) with each cell as one string: text as an
inline string (never a formula, whatever it starts with), numbers as numbers, date-times as Excel serial days
with a date format, empty values left out. The header row stays in view (a frozen pane). Characters XML
cannot carry (control characters) are dropped, so no device name can break the file.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

Cell = str | int | float | datetime | None

_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year quirk, for dates after 1 March 1900)
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_CONTENT_TYPES = _HEAD + (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '</Types>')
_ROOT_RELS = _HEAD + (
    f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK_RELS = _HEAD + (
    f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>')


def _styles(datetime_format: str) -> str:
    """Style 0: general; style 1: a date-time in ``datetime_format``; style 2: the header, bold."""
    return _HEAD + (
        f'<styleSheet xmlns="{_NS}">'
        f'<numFmts count="1"><numFmt numFmtId="164" formatCode={quoteattr(datetime_format)}/></numFmts>'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>')


def _column(index: int) -> str:
    """``0`` -> ``A``, ``26`` -> ``AA``."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _text(value: str) -> str:
    return escape(_ILLEGAL.sub("", value))


def _row(number: int, values: Sequence[Cell], columns: Sequence[str], style: int = 0) -> str:
    cells = []
    styled = f' s="{style}"' if style else ""
    for column, value in zip(columns, values, strict=False):
        ref = f"{column}{number}"
        if value is None or value == "":
            continue
        if isinstance(value, str):
            cells.append(f'<c r="{ref}"{styled} t="inlineStr"><is><t xml:space="preserve">{_text(value)}</t></is></c>')
        elif isinstance(value, bool):
            cells.append(f'<c r="{ref}"{styled} t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, datetime):
            serial = (value.replace(tzinfo=None) - _EPOCH).total_seconds() / 86400
            cells.append(f'<c r="{ref}" s="1"><v>{serial!r}</v></c>')
        elif math.isfinite(value):
            cells.append(f'<c r="{ref}"{styled}><v>{value!r}</v></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'


def workbook(sheet_name: str, header: Sequence[str], rows: Iterable[Sequence[Cell]], *,
             datetime_format: str = "yyyy-mm-dd hh:mm") -> bytes:
    """The workbook's bytes: one sheet named ``sheet_name`` with a bold, frozen ``header`` row, then ``rows``.

    Strings are written as text exactly as given (the caller neutralises what a spreadsheet would run as a
    formula when it reopens the file as CSV); date-times must be naive local times.
    """
    name = _ILLEGAL.sub("", sheet_name)
    for bad in "[]:*?/\\":
        name = name.replace(bad, " ")
    name = name.strip()[:31] or "Sheet1"
    columns = [_column(i) for i in range(len(header))]
    parts = [_HEAD, f'<worksheet xmlns="{_NS}" xmlns:r="{_REL}">',
             '<sheetViews><sheetView workbookViewId="0">'
             '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
             '</sheetView></sheetViews><sheetData>', _row(1, header, columns, style=2)]
    parts.extend(_row(n, values, columns) for n, values in enumerate(rows, 2))
    parts.append("</sheetData></worksheet>")
    book = _HEAD + (f'<workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets>'
                    f'<sheet name={quoteattr(name)} sheetId="1" r:id="rId1"/></sheets></workbook>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", book)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _styles(datetime_format))
        archive.writestr("xl/worksheets/sheet1.xml", "".join(parts))
    return out.getvalue()
