"""The report as plain text, for pasting into a document that already has its own styles."""

from __future__ import annotations

import unicodedata

from server.report.document import BulletList, Heading, Paragraph, ReportDocument, Table


def display_width(text: str) -> int:
    """Columns the text takes in a monospaced font: combining accents take none, wide characters two."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def _table(table: Table) -> list[str]:
    """Columns aligned with spaces, the header underlined."""
    rows = [table.header, *table.rows]
    widths = [max(display_width(row[i]) for row in rows if i < len(row)) for i in range(len(table.header))]
    out = [table.caption] if table.caption else []
    for n, row in enumerate(rows):
        out.append("  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def render_txt(document: ReportDocument) -> str:
    """Plain text of the whole document, ending with a newline."""
    lines: list[str] = [*document.title, ""]
    for block in document.blocks:
        if isinstance(block, (Heading, Paragraph)):
            lines += [block.text, ""]
        elif isinstance(block, BulletList):
            lines += [f"- {item}" for item in block.items]
            lines.append("")
        elif isinstance(block, Table):
            lines += [*_table(block), ""]
    return "\n".join(lines).rstrip("\n") + "\n"
