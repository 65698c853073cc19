"""The report as a Word document (.docx): real Heading styles, tables with repeated header rows, Vietnamese.

Official documents in Viet Nam are set in Times New Roman 13-14 pt (Decree 30/2020/ND-CP); the default
template's blue Calibri headings are restyled to match, and the text is tagged vi-VN for proofing.
"""

from __future__ import annotations

from io import BytesIO

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor
from docx.styles.style import ParagraphStyle
from docx.table import Table as DocxTable

from server.report.document import BulletList, Heading, Paragraph, ReportDocument, Table

FONT = "Times New Roman"
BODY_SIZE = Pt(13)
TABLE_SIZE = Pt(11)
WIDE_TABLE_SIZE = Pt(9)  # the per-unit annex tables have ten columns
_LANG_TAGS = {"vi": "vi-VN", "en": "en-GB"}


def _set_font(style: ParagraphStyle, size: Pt | None, lang_tag: str) -> None:
    """Font for every script (python-docx sets only ASCII/high-ANSI) and the proofing language."""
    style.font.name = FONT
    if size is not None:
        style.font.size = size
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()  # python-docx keeps the schema's element order, which Word insists on
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
        fonts.attrib.pop(qn(theme), None)  # a theme font would override the named one in Word
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.insert_element_before(lang, "w:eastAsianLayout", "w:specVanish", "w:oMath")
    lang.set(qn("w:val"), lang_tag)


def _styles(doc: DocxDocument, lang_tag: str) -> None:
    normal = doc.styles["Normal"]
    assert isinstance(normal, ParagraphStyle)
    _set_font(normal, BODY_SIZE, lang_tag)
    normal.paragraph_format.space_after = Pt(4)
    for level in (1, 2, 3):
        heading = doc.styles[f"Heading {level}"]
        assert isinstance(heading, ParagraphStyle)
        _set_font(heading, Pt(14 if level == 1 else 13), lang_tag)
        heading.font.bold = True
        heading.font.italic = level == 3
        heading.font.color.rgb = RGBColor(0, 0, 0)


def _repeat_header(table: DocxTable) -> None:
    """Mark the first row as a header row, repeated at the top of each page."""
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)


def _table(doc: DocxDocument, block: Table) -> None:
    if block.caption:
        caption = doc.add_paragraph()
        caption.add_run(block.caption).italic = True
    size = WIDE_TABLE_SIZE if len(block.header) > 6 else TABLE_SIZE
    table = doc.add_table(rows=1 + len(block.rows), cols=len(block.header))
    table.style = doc.styles["Table Grid"]
    for r, row in enumerate([block.header, *block.rows]):
        for c, text in enumerate(row):
            paragraph = table.cell(r, c).paragraphs[0]
            run = paragraph.add_run(text)
            run.font.size = size
            run.bold = r == 0
            if r == 0:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _repeat_header(table)
    doc.add_paragraph()


def _landscape_section(doc: DocxDocument) -> None:
    """Start a new landscape page (the annex tables are wider than a portrait page)."""
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    if section.orientation != WD_ORIENT.LANDSCAPE:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width


def render_docx(document: ReportDocument) -> bytes:
    """The .docx file's bytes."""
    doc = Document()
    lang_tag = _LANG_TAGS.get(document.meta.lang, "vi-VN")
    _styles(doc, lang_tag)
    doc.core_properties.title = document.title[0]
    doc.core_properties.subject = " ".join(document.title[1:])
    doc.core_properties.language = lang_tag
    doc.core_properties.author = "kiemke"
    for i, line in enumerate(document.title):
        paragraph = doc.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = paragraph.add_run(line)
        run.bold = i < 2
        run.italic = i >= 2
    annex_started = False
    for block in document.blocks:
        if isinstance(block, Heading):
            if block.annex and not annex_started:
                _landscape_section(doc)
                annex_started = True
            doc.add_heading(block.text, level=block.level)
        elif isinstance(block, Paragraph):
            doc.add_paragraph(block.text)
        elif isinstance(block, BulletList):
            for item in block.items:
                doc.add_paragraph(item, style="List Bullet")
        elif isinstance(block, Table):
            _table(doc, block)
    out = BytesIO()
    doc.save(out)
    return out.getvalue()
