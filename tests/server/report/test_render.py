"""Markdown, plain text, JSON and .docx renderings of the same document."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from io import BytesIO
from pathlib import Path

import docx
import pytest

from server.report import build_report, render
from server.report.document import ReportDocument
from server.report.render_txt import display_width, render_txt
from server.services.figure import FIGURE_KEYS, Coverage
from server.services.state import Snapshot

# ECMA-376 Part 1, 17.3.2.28 (CT_RPr): the order Word requires of a run's properties.
RPR_ORDER = (
    "rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike", "dstrike", "outline", "shadow",
    "emboss", "imprint", "noProof", "snapToGrid", "vanish", "webHidden", "color", "spacing", "w", "kern",
    "position", "sz", "szCs", "highlight", "u", "effect", "bdr", "shd", "fitText", "vertAlign", "rtl", "cs", "em",
    "lang", "eastAsianLayout", "specVanish", "oMath",
)


@pytest.fixture
def document(coverage: Coverage, snapshot: Snapshot) -> ReportDocument:
    return build_report(coverage, snapshot, "vi", items=True)


def test_markdown_tables_have_a_separator_row(document: ReportDocument) -> None:
    lines = render(document, "md").decode().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("| STT |"):
            assert lines[i + 1].startswith("|---|")
            assert lines[i + 1].count("|") == line.count("|")


def test_plain_text_columns_line_up(document: ReportDocument) -> None:
    text = render_txt(document)
    assert "|" not in text and "#" not in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("STT  Cơ quan, đơn vị"))
    # the second column starts at the same place on every row of the table
    start = lines[header].index("Cơ quan")
    for row in lines[header + 2 : header + 4]:
        assert display_width(row[:start]) == start


def test_json_has_every_figure_with_counts_percent_and_items(document: ReportDocument) -> None:
    data = json.loads(render(document, "json"))
    assert data["as_of"] == "2024-05-18"
    assert data["lang"] == "vi"
    assert data["unit"] is None
    assert data["period"] == "06 tháng đầu năm 2024"
    assert set(data["figures"]) == set(document.coverage.figures) and set(FIGURE_KEYS) >= set(data["figures"])
    internet = data["figures"]["computers_internet_connected"]
    assert {k: internet[k] for k in ("numerator", "denominator", "percent", "items")} == {
        "numerator": 2, "denominator": 3, "percent": 66.67, "items": [1, 2]}
    assert internet["detail"] == {"air_gapped": 1}
    assert data["figures"]["computers_per_staff:school"]["percent"] is None
    assert data["per_unit"]["TB"]["units_with_fibre"]["numerator"] == 0
    assert data["forecast"]["2026"] == {"TC": 1, "TB": 2}
    assert data["forecast_licences"] == {}  # the hand-built district keeps no licence register


def test_json_carries_the_licence_renewal_forecast(coverage: Coverage, snapshot: Snapshot) -> None:
    """Seats due for renewal: budget year -> unit -> product -> seats, as the report's own table has them."""
    renewals = {2025: {"TC": {"Bkav Pro": 12}}, 2026: {"*": {"Kaspersky Endpoint Security": 40}}}
    document = build_report(replace(coverage, forecast_licences=renewals), snapshot, "vi", items=True)
    data = json.loads(render(document, "json"))
    assert data["forecast_licences"] == {"2025": {"TC": {"Bkav Pro": 12}},
                                         "2026": {"*": {"Kaspersky Endpoint Security": 40}}}
    assert data["oldest"][0]["device_id"] == 1 and data["oldest"][0]["age_source"] == "firmware"
    assert data["devices"]["1"] == "PH-VP-01 (Dell OptiPlex 3020)"
    assert "5" not in data["devices"]  # the scanner is in no item list


def test_docx_reads_back_with_headings_tables_and_vietnamese(document: ReportDocument) -> None:
    opened = docx.Document(BytesIO(render(document, "docx")))
    headings = [(p.style.name, p.text) for p in opened.paragraphs if p.style is not None
                and p.style.name.startswith("Heading")]
    assert ("Heading 2", "6. Hạ tầng kỹ thuật") in headings
    assert ("Heading 1", "III. Nhận xét, đánh giá") in headings
    bullets = [p.text for p in opened.paragraphs if p.style is not None and p.style.name == "List Bullet"]
    assert "Máy tính dùng hệ điều hành đã hết hỗ trợ (không còn bản vá bảo mật): 25,00% (1/4)." in bullets
    shops = opened.tables[0]
    assert [c.text for c in shops.rows[0].cells][:3] == ["STT", "Cơ quan, đơn vị", "Máy tính"]
    assert shops.rows[0]._tr.trPr is not None  # header row repeats on each page
    annex = opened.tables[4]
    assert annex.rows[-1].cells[2].text == "99,59% (17.236/17.307)"
    assert len(opened.sections) == 2  # the wide annex is on its own landscape section
    assert opened.sections[1].page_width > opened.sections[1].page_height


def test_docx_run_properties_follow_the_schema_order(document: ReportDocument) -> None:
    """Word repairs a file whose rPr children are out of schema order; LibreOffice would not notice."""
    from docx.oxml.ns import qn

    order = [qn(f"w:{tag}") for tag in RPR_ORDER]
    opened = docx.Document(BytesIO(render(document, "docx")))
    for name in ("Normal", "Heading 1", "Heading 2", "Heading 3"):
        rpr = opened.styles[name].element.rPr
        assert rpr is not None
        tags = [child.tag for child in rpr]
        assert tags == sorted(tags, key=order.index), name
        assert rpr.find(qn("w:lang")).get(qn("w:val")) == "vi-VN"
        assert rpr.rFonts.get(qn("w:eastAsia")) == "Times New Roman"


def test_docx_has_the_administrative_format(document: ReportDocument) -> None:
    """Decree 30/2020/ND-CP: A4, margins 20/20/30/15 mm, Times New Roman 13 pt, sized columns, header rows."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    opened = docx.Document(BytesIO(render(document, "docx")))
    first = opened.sections[0]
    near = Mm(0.1)  # Word stores lengths in twentieths of a point
    assert (first.page_width, first.page_height) == (pytest.approx(Mm(210), abs=near),
                                                     pytest.approx(Mm(297), abs=near))
    for section in opened.sections:  # the landscape annex keeps the same margins
        assert [section.top_margin, section.bottom_margin, section.left_margin, section.right_margin] == [
            pytest.approx(Mm(v), abs=near) for v in (20, 20, 30, 15)]
    assert opened.styles["Normal"].font.name == "Times New Roman"
    assert opened.styles["Normal"].font.size == Pt(13)
    for name in ("Heading 1", "Heading 2", "Heading 3", "List Bullet"):
        assert opened.styles[name].font.name in (None, "Times New Roman"), name  # None: inherits Normal's
    annex = opened.tables[4]
    widths = [col.w for col in annex._tbl.tblGrid.gridCol_lst]
    assert widths[0] == pytest.approx(Mm(12), abs=near) and widths[0] < min(widths[1:])  # STT narrow
    assert widths[1] == max(widths)  # unit names get the room
    assert sum(widths) == pytest.approx(opened.sections[1].page_width - Mm(45), abs=Mm(1))
    total = annex.rows[-1].cells
    assert total[2].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT  # a share
    assert total[1].paragraphs[0].alignment is None  # a name reads from the left
    for table in opened.tables:
        header = table.rows[0]._tr.trPr.find(qn("w:tblHeader"))
        assert header is not None and header.get(qn("w:val")) == "true"


def test_docx_converts_to_pdf_with_libreoffice(document: ReportDocument, tmp_path: Path) -> None:
    """Read as a reader would: the PDF that LibreOffice prints has A4 pages, the margins and one font family."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice (soffice) is not installed: cannot prove the .docx converts to PDF")
    from pypdf import PdfReader

    source = tmp_path / "baocao.docx"
    source.write_bytes(render(document, "docx"))
    subprocess.run([office, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
                    "pdf", "--outdir", str(tmp_path), str(source)], check=True, capture_output=True, timeout=240)
    pdf = tmp_path / "baocao.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
    reader = PdfReader(pdf)
    mm = 72 / 25.4
    page = reader.pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (
        pytest.approx(210 * mm, abs=1), pytest.approx(297 * mm, abs=1))
    xs: list[float] = []
    ys: list[float] = []

    def visit(text: str, cm: object, tm: list[float], fonts: object, size: object) -> None:
        if text.strip():
            xs.append(tm[4])
            ys.append(tm[5])

    page.extract_text(visitor_text=visit)
    assert 30 * mm - 1 <= min(xs) <= 35 * mm  # left margin 30 mm (centred title lines start further in)
    top = float(page.mediabox.height) - max(ys)  # the first line's baseline sits just under the top margin
    assert 20 * mm <= top <= 25 * mm + 14
    families = set()
    for each in reader.pages:
        for font in (each["/Resources"].get("/Font") or {}).values():
            families.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    # Times New Roman, or where it is not installed its metric-compatible stand-in: never a sans or Calibri
    assert families and all(f.startswith(("TimesNewRoman", "LiberationSerif")) for f in families), families
