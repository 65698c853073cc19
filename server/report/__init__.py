"""The periodic report: coverage figures written as sections II.6, II.8 and III.2, in Vietnamese or English.

``build_report`` writes the document once; ``render`` turns it into Markdown, plain text, JSON or .docx.
"""

from __future__ import annotations

from typing import Literal

from server.report.document import ReportDocument
from server.report.numbers import LANGS, Lang
from server.report.section import build_report

Format = Literal["md", "txt", "json", "docx"]
FORMATS: tuple[Format, ...] = ("md", "txt", "json", "docx")
MEDIA_TYPES: dict[Format, str] = {
    "md": "text/markdown; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def render(document: ReportDocument, fmt: Format) -> bytes:
    """The document in a format, as bytes (UTF-8 for the text formats)."""
    if fmt == "docx":
        from server.report.render_docx import render_docx

        return render_docx(document)
    if fmt == "json":
        from server.report.render_json import render_json

        return render_json(document).encode()
    if fmt == "txt":
        from server.report.render_txt import render_txt

        return render_txt(document).encode()
    from server.report.render_md import render_md

    return render_md(document).encode()


__all__ = ["FORMATS", "LANGS", "MEDIA_TYPES", "Format", "Lang", "ReportDocument", "build_report", "render"]
