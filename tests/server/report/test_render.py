"""Markdown, plain text, JSON and .docx renderings of the same document."""

from __future__ import annotations

import json
import shutil
import subprocess
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


def test_docx_converts_to_pdf_with_libreoffice(document: ReportDocument, tmp_path: Path) -> None:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice (soffice) is not installed: cannot prove the .docx converts to PDF")
    source = tmp_path / "baocao.docx"
    source.write_bytes(render(document, "docx"))
    subprocess.run([office, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
                    "pdf", "--outdir", str(tmp_path), str(source)], check=True, capture_output=True, timeout=240)
    pdf = tmp_path / "baocao.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
