"""The report as Markdown: for the console, e-mail and pasting into editors that read Markdown."""

from __future__ import annotations

from server.report.document import BulletList, Heading, Paragraph, ReportDocument, Table


def _cell(text: str) -> str:
    """A table cell: a pipe or a line break would split the row."""
    return text.replace("|", "\\|").replace("\n", " ")


def render_md(document: ReportDocument) -> str:
    """Markdown text of the whole document, ending with a newline."""
    title, *subtitles = document.title
    lines: list[str] = [f"# {title}", ""]
    lines.extend(f"**{line}**  " for line in subtitles)
    lines.append("")
    for block in document.blocks:
        if isinstance(block, Heading):
            lines += ["#" * (block.level + 1) + " " + block.text, ""]
        elif isinstance(block, Paragraph):
            lines += [block.text, ""]
        elif isinstance(block, BulletList):
            lines += [f"- {item}" for item in block.items]
            lines.append("")
        elif isinstance(block, Table):
            if block.caption:
                lines += [f"*{block.caption}*", ""]
            lines.append("| " + " | ".join(_cell(h) for h in block.header) + " |")
            lines.append("|" + "|".join("---" for _ in block.header) + "|")
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
