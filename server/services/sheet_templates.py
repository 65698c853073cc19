"""The columns of the three import sheets with their Vietnamese and English headers, and blank templates.

An officer fills a template downloaded from the console: its headers are in the console's language
(Vietnamese by default). ``column_key`` maps either language's header (case and marks ignored) back to the
column name the importer reads, so a sheet with English keys (``purchased_on``) or Vietnamese headers
(``Ngày mua``) imports the same.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from typing import Literal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

SheetKind = Literal["units", "assets", "licences"]
SHEET_KINDS: tuple[SheetKind, ...] = ("units", "assets", "licences")

#: kind -> (column, Vietnamese header, English header, what goes in it in Vietnamese, in English).
COLUMNS: dict[str, tuple[tuple[str, str, str, str, str], ...]] = {
    "units": (
        ("code", "Mã đơn vị", "Code", "Bắt buộc, duy nhất, ví dụ X01", "Required, unique, e.g. X01"),
        ("name", "Tên đơn vị", "Unit name", "Bắt buộc", "Required"),
        ("kind", "Loại đơn vị", "Unit kind", "district, department, commune, school hoặc other",
         "district, department, commune, school or other"),
        ("parent", "Mã đơn vị cấp trên", "Parent unit code", "Để trống với cấp huyện", "Empty for the district"),
        ("staff", "Số cán bộ", "Staff", "Số nguyên", "A whole number"),
        ("lan", "Có mạng LAN", "LAN", "có/không", "yes/no"),
        ("wifi", "Có Wi-Fi", "Wi-Fi", "có/không", "yes/no"),
        ("wan", "Kết nối mạng WAN", "WAN", "có/không", "yes/no"),
        ("internet", "Đường truyền internet", "Internet", "fibre, other hoặc none", "fibre, other or none"),
        ("one_stop_shop", "Bộ phận một cửa", "One-stop shop", "có/không", "yes/no"),
    ),
    "assets": (
        ("unit", "Thuộc đơn vị (mã)", "Unit", "Bắt buộc: mã đơn vị", "Required: the unit's code"),
        ("kind", "Loại thiết bị", "Kind", "desktop, laptop, server, printer, scanner, photocopier, camera, "
         "network, monitor hoặc other", "desktop, laptop, server, printer, scanner, photocopier, camera, network, "
         "monitor or other"),
        ("name", "Tên thiết bị", "Name", "Cần tên hoặc số sê-ri", "A name or a serial is needed"),
        ("vendor", "Hãng sản xuất", "Vendor", "", ""),
        ("model", "Model", "Model", "", ""),
        ("serial", "Số sê-ri", "Serial", "Nhập lại cùng sê-ri sẽ cập nhật thiết bị đó",
         "The same serial again updates that device"),
        ("purchased_on", "Ngày mua", "Purchased on", "dd/mm/yyyy hoặc yyyy-mm-dd", "dd/mm/yyyy or yyyy-mm-dd"),
        ("status", "Tình trạng", "Status", "in_use, spare, broken hoặc retired", "in_use, spare, broken or retired"),
        ("air_gapped", "Máy xử lý văn bản mật", "Air-gapped", "có/không", "yes/no"),
        ("notes", "Ghi chú", "Notes", "", ""),
    ),
    "licences": (
        ("product", "Phần mềm diệt virus", "Antivirus product", "Bắt buộc", "Required"),
        ("seats", "Số máy được cấp phép", "Seats", "Bắt buộc, số nguyên", "Required, a whole number"),
        ("valid_from", "Hiệu lực từ ngày", "Valid from", "dd/mm/yyyy", "dd/mm/yyyy"),
        ("valid_to", "Hiệu lực đến ngày", "Valid to", "dd/mm/yyyy", "dd/mm/yyyy"),
        ("unit", "Thuộc đơn vị (mã)", "Unit", "Để trống: dùng chung toàn huyện", "Empty: shared by the whole tree"),
    ),
}


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return "_".join(plain.split())


#: Either language's header, folded, -> the column name (the same header means the same column in every sheet:
#: a test keeps the headers unambiguous).
HEADER_ALIASES: dict[str, str] = {
    _folded(label): key for columns in COLUMNS.values() for key, vi, en, _, _ in columns for label in (vi, en)}


def column_key(header: str) -> str:
    """The importer's column name for a header: ``Ngày mua`` and ``Purchased on`` -> ``purchased_on``."""
    folded = _folded(header)
    return HEADER_ALIASES.get(folded, folded)


def headers(kind: str, lang: str) -> list[str]:
    """The template's header row in ``lang`` (vi or en)."""
    return [vi if lang == "vi" else en for _, vi, en, _, _ in COLUMNS[kind]]


def template_csv(kind: str, lang: str) -> bytes:
    """A blank CSV template (UTF-8 with a BOM, so that Excel shows Vietnamese)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(headers(kind, lang))
    return ("\ufeff" + out.getvalue()).encode()


def template_xlsx(kind: str, lang: str, sheet_title: str, help_title: str) -> bytes:
    """A blank workbook template: the header row to fill, and a second sheet saying what each column holds."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title[:31])
    sheet.freeze_panes = "A2"
    sheet.append(headers(kind, lang))
    guide = book.create_sheet(help_title[:31])
    for _, vi, en, vi_help, en_help in COLUMNS[kind]:
        row = []
        for value in ((vi, vi_help) if lang == "vi" else (en, en_help)):
            cell = WriteOnlyCell(guide, value)
            cell.data_type = "s"
            row.append(cell)
        guide.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
