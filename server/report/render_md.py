"""The report as Markdown: for the console, e-mail and pasting into editors that read Markdown.

Every piece of text is escaped, since host names, models and unit names come from agents and spreadsheets: a
``<script>`` tag, ``*`` or ``[link](...)`` in them is shown as typed, never read as HTML or formatting. Only the
structure this module writes (headings, bold subtitles, lists, tables) is Markdown.
"""

from __future__ import annotations

import re

from server.report.document import BulletList, Heading, Paragraph, ReportDocument, Table

# CommonMark's backslash escapes for the characters that start inline HTML, emphasis, links, code, entities.
_INLINE = re.compile(r"([\\`*_\[\]<>&!|~])")
# What would start a block (heading, quote, list, rule) at the beginning of a line.
_BLOCK_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")


def escape(text: str) -> str:
    """``text`` as literal Markdown on one line, where a line's start means nothing (headings, cells)."""
    return _INLINE.sub(r"\\\1", " ".join(text.splitlines()))


def escape_block(text: str) -> str:
    """``text`` as a literal paragraph or list item: a leading ``#``, ``-`` or ``1.`` starts no block either."""
    return _BLOCK_START.sub(lambda m: m.group(1) + re.sub(r"([#>+=.)-])", r"\\\1", m.group(2)), escape(text))


def _cell(text: str) -> str:
    """A table cell: escaped (a pipe or a line break would split the row)."""
    return escape(text)


def render_md(document: ReportDocument) -> str:
    """Markdown text of the whole document, ending with a newline."""
    title, *subtitles = document.title
    lines: list[str] = [f"# {escape(title)}", ""]
    lines.extend(f"**{escape(line)}**  " for line in subtitles)
    lines.append("")
    for block in document.blocks:
        if isinstance(block, Heading):
            lines += ["#" * (block.level + 1) + " " + escape(block.text), ""]
        elif isinstance(block, Paragraph):
            lines += [escape_block(block.text), ""]
        elif isinstance(block, BulletList):
            lines += [f"- {escape_block(item)}" for item in block.items]
            lines.append("")
        elif isinstance(block, Table):
            if block.caption:
                lines += [f"*{escape(block.caption)}*", ""]
            lines.append("| " + " | ".join(_cell(h) for h in block.header) + " |")
            lines.append("|" + "|".join("---" for _ in block.header) + "|")
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
