"""The report as a Word document (.docx) in the administrative format of Decree 30/2020/ND-CP.

A4; margins top and bottom 20 mm, left 30 mm, right 15 mm; Times New Roman 13 pt body, headings and tables in
the same family (the default template's blue Calibri headings are restyled); text tagged vi-VN for proofing.
Tables are built row by row (``table.cell(r, c)`` re-reads the whole grid on every call, so a district's
annex took minutes); columns are sized to their content, "STT" narrow, numbers right-aligned, and the header
row repeats on every page.
"""

from __future__ import annotations

import re
from io import BytesIO

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Length, Mm, Pt, RGBColor
from docx.styles.style import ParagraphStyle
from docx.table import Table as DocxTable
from docx.table import _Cell

from server.report.document import BulletList, Heading, Paragraph, ReportDocument, Table

FONT = "Times New Roman"
BODY_SIZE = Pt(13)
TABLE_SIZE = Pt(11)
WIDE_TABLE_SIZE = Pt(9)  # the per-unit annex tables have ten columns
# Decree 30/2020/ND-CP, appendix I: A4, top and bottom 20-25 mm, left 30-35 mm, right 15-20 mm.
PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGIN_TOP = MARGIN_BOTTOM = Mm(20)
MARGIN_LEFT, MARGIN_RIGHT = Mm(30), Mm(15)
NUMBER_COLUMN = Mm(12)  # "STT": room for three digits, not the width of a unit name
_NUMERIC = re.compile(r"^[\d.,%()/ —-]+$")  # counts, shares "99,59% (17.236/17.307)", years; "—" is no data
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


def _dash_bullets(doc: DocxDocument) -> None:
    """List items start with a dash in Times New Roman, as official reports write them (not a Symbol bullet)."""
    style = doc.styles["List Bullet"]
    num_pr = style.element.pPr.numPr if style.element.pPr is not None else None
    if num_pr is None or num_pr.numId is None:
        return
    numbering = doc.part.numbering_part.element
    num = numbering.num_having_numId(num_pr.numId.val)
    abstract_id = num.abstractNumId.val
    abstract = next(a for a in numbering.iterchildren(qn("w:abstractNum"))
                    if a.get(qn("w:abstractNumId")) == str(abstract_id))
    for lvl in abstract.iterchildren(qn("w:lvl")):
        for text in lvl.iterchildren(qn("w:lvlText")):
            text.set(qn("w:val"), "-")
        for fonts in lvl.iterfind(f"{qn('w:rPr')}/{qn('w:rFonts')}"):
            for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
                fonts.set(qn(attr), FONT)
            fonts.attrib.pop(qn("w:hint"), None)


def _repeat_header(table: DocxTable) -> None:
    """Mark the first row as a header row, repeated at the top of each page."""
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)


def _text_width(text: str) -> int:
    """What a column needs for a cell: its longest line, but a long name may wrap over a few lines."""
    return min(len(text), 28)


def column_widths(block: Table, available: int) -> list[int]:
    """Widths (EMU) summing to ``available``: "STT" narrow, the others by the longest content they hold."""
    columns = len(block.header)
    numbered = [c == 0 and all(_NUMERIC.match(row[0] or "0") for row in block.rows) for c in range(columns)]
    needs = [0] * columns
    for row in (block.header, *block.rows):
        for c, text in enumerate(row[:columns]):
            longest_word = max((len(w) for w in text.split()), default=0)
            needs[c] = max(needs[c], longest_word, _text_width(text) if row is not block.header else 0)
    fixed = sum(int(NUMBER_COLUMN) for c in range(columns) if numbered[c])
    rest = sum(max(n, 4) for c, n in enumerate(needs) if not numbered[c]) or 1
    widths = [int(NUMBER_COLUMN) if numbered[c] else (available - fixed) * max(needs[c], 4) // rest
              for c in range(columns)]
    widths[-1] += available - sum(widths)  # rounding: the table fills the text width exactly
    return widths


def _set_widths(table: DocxTable, widths: list[int]) -> None:
    """Fixed layout with the given column widths (Word reads each cell's width, LibreOffice the grid)."""
    table.autofit = False
    for grid_col, width in zip(table._tbl.tblGrid.gridCol_lst, widths, strict=True):
        grid_col.w = Length(width)


def _fill_row(cells: tuple[_Cell, ...], texts: tuple[str, ...], widths: list[int], size: Pt, header: bool) -> None:
    for cell, text, width in zip(cells, texts, widths, strict=False):
        cell.width = Length(width)
        paragraph = cell.paragraphs[0]
        run = paragraph.add_run(text)
        run.font.size = size
        if header:
            run.bold = True
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif text and _NUMERIC.match(text):
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _table(doc: DocxDocument, block: Table) -> None:
    if block.caption:
        caption = doc.add_paragraph()
        caption.add_run(block.caption).italic = True
    size = WIDE_TABLE_SIZE if len(block.header) > 6 else TABLE_SIZE
    section = doc.sections[-1]
    widths = column_widths(block, int(section.page_width or PAGE_WIDTH) - int(section.left_margin or 0)
                           - int(section.right_margin or 0))
    table = doc.add_table(rows=1, cols=len(block.header))
    table.style = doc.styles["Table Grid"]
    _set_widths(table, widths)
    _fill_row(table.rows[0].cells, block.header, widths, size, header=True)
    for row in block.rows:  # row by row: each row costs the same, however long the table already is
        _fill_row(table.add_row().cells, row, widths, size, header=False)
    _repeat_header(table)
    doc.add_paragraph()


def _page_setup(section: Section) -> None:
    """A4 portrait with the decree's margins."""
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.top_margin, section.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
    section.left_margin, section.right_margin = MARGIN_LEFT, MARGIN_RIGHT


def _landscape_section(doc: DocxDocument) -> None:
    """Start a new landscape page (the annex tables are wider than a portrait page)."""
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    if section.orientation != WD_ORIENT.LANDSCAPE:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width


def render_docx(document: ReportDocument) -> bytes:
    """The .docx file's bytes."""
    doc = Document()
    _page_setup(doc.sections[0])
    lang_tag = _LANG_TAGS.get(document.meta.lang, "vi-VN")
    _styles(doc, lang_tag)
    _dash_bullets(doc)
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
