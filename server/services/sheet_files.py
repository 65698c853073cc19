"""Reading the officer's spreadsheet files (CSV or XLSX) row by row, whatever arrives.

- CSV is streamed: the encoding is found from a byte-order mark (UTF-8, UTF-16), else by a strict UTF-8
  pass over the bytes, else it is Windows-1258 (cp1258, what older Vietnamese Excel versions export). The
  delimiter is the most frequent of ``,`` ``;`` and tab in the header row (Excel in a Vietnamese locale
  writes ``;`` because ``,`` is its decimal mark).
- XLSX (or a CSV-named file that is really a workbook) is read with openpyxl in read-only mode.
- Every cell goes through ``clean_text`` (NFC, no control characters). A row that cannot be read (a cell
  longer than ``MAX_CELL``, too many columns) comes out as a ``RowError`` with its number, and reading goes
  on; a file that cannot be read at all raises ``SheetError`` after the rows read so far.

Row numbers are the spreadsheet's: the header is row 1.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path

from shared.text import clean_text

MAX_CELL = 4096  # characters; no column of any sheet needs more
MAX_COLUMNS = 256
MAX_HEADER_BYTES = 1 << 20
_ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1 << 20

Row = dict[str, str]


class RowError(ValueError):
    """One row that cannot be taken; the message names the column."""


class SheetError(ValueError):
    """A file that cannot be read as a spreadsheet (from the row named in the message on)."""


def header_name(name: object) -> str:
    """``Purchased on`` and ``Ngày mua`` (a template's Vietnamese header) -> ``purchased_on``."""
    from server.services.sheet_templates import column_key

    return column_key(re.sub(r"\s+", "_", clean_text(str(name or "")).strip().lower()))


def cell_text(value: object) -> str:
    """A cell as clean text: dates as ISO, 12.0 as 12."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 12 as 12.0
    return clean_text(str(value)).strip()


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` or ``utf-16`` from a byte-order mark, else ``utf-8`` when every byte decodes, else ``cp1258``."""
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1258"
    return "utf-8"


def _is_workbook(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == _ZIP_MAGIC


def read_rows(path: Path) -> Iterator[tuple[int, Row | RowError]]:
    """(row number, {header: text} or the reason it cannot be read) for every non-empty data row."""
    if path.suffix.lower() in (".xlsx", ".xlsm") or _is_workbook(path):
        yield from _xlsx_rows(path)
    else:
        yield from _csv_rows(path)


def _checked(number: int, headers: list[str], values: Iterable[str]) -> tuple[int, Row | RowError] | None:
    cells = list(values)
    if not any(cells):
        return None
    if len(cells) > MAX_COLUMNS:
        return number, RowError(f"the row has {len(cells)} cells; at most {MAX_COLUMNS} are read")
    for header, value in zip(headers, cells, strict=False):
        if len(value) > MAX_CELL:
            return number, RowError(f"{header or 'a column'}: longer than {MAX_CELL} characters")
    return number, {h: v for h, v in zip(headers, cells, strict=False) if h}


def _lines(path: Path, encoding: str) -> Iterator[str]:
    """The file's lines as text. Byte-oriented encodings are decoded a line at a time, so a bad byte stops the
    import exactly at its row and every row before it is kept."""
    if encoding == "utf-16":
        with path.open("r", encoding=encoding, errors="strict", newline="") as fh:
            yield from fh
        return
    with path.open("rb") as fh:
        first = True
        for raw in fh:
            line = raw.decode(encoding, errors="strict")
            if first and "\0" in line:
                raise SheetError("row 1: the file holds binary data, not CSV text; save the sheet as CSV or XLSX")
            first = False
            yield line


def _csv_rows(path: Path) -> Iterator[tuple[int, Row | RowError]]:
    lines = _lines(path, detect_encoding(path))
    number = 1
    try:
        head = next(lines, "")
        # Excel in a Vietnamese locale separates with ';' because ',' is the decimal mark.
        delimiter = max((",", ";", "\t"), key=head[:MAX_HEADER_BYTES].count)
        reader = csv.reader(itertools.chain([head], lines), delimiter=delimiter)
        headers = [header_name(h) for h in next(reader, [])]
        while True:
            number += 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a cell longer than the csv module's own limit
                yield number, RowError(f"the row cannot be read as CSV ({exc})")
                continue
            row = _checked(number, headers, (clean_text(v).strip() for v in values))
            if row is not None:
                yield row
    except UnicodeError:
        raise SheetError(f"row {number}: the file is not text in UTF-8, UTF-16 or Windows-1258 (cp1258); "
                         "save the sheet as CSV UTF-8 or XLSX") from None


def _xlsx_rows(path: Path) -> Iterator[tuple[int, Row | RowError]]:
    from openpyxl import load_workbook

    number = 1
    try:
        with path.open("rb") as fh:  # a file object: openpyxl then reads a workbook whatever its name ends with
            book = load_workbook(fh, read_only=True, data_only=True)
            try:
                rows = book.worksheets[0].iter_rows(values_only=True)
                headers = [header_name(h) for h in next(rows, ())]
                for values in rows:
                    number += 1
                    row = _checked(number, headers, (cell_text(v) for v in values))
                    if row is not None:
                        yield row
            finally:
                book.close()
    except SheetError:
        raise
    except Exception as exc:  # openpyxl and zipfile raise many types on a damaged workbook
        raise SheetError(f"row {number}: not a readable XLSX workbook ({type(exc).__name__}: "
                         f"{clean_text(str(exc))[:200]}); save the sheet again as XLSX or CSV") from None

