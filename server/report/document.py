"""The report as a format-neutral document: headings, paragraphs, lists and tables, already in one language.

Every renderer (Markdown, plain text, .docx) walks the same blocks, so the wording is written once in
``section.py``; the JSON renderer reads the figures kept beside the blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from server.report.numbers import Lang
from server.services.figure import Coverage


@dataclass(frozen=True)
class Heading:
    """A heading; level 1 is a part of the report (II, III), level 2 a numbered section, level 3 below."""

    text: str
    level: int = 1
    annex: bool = False  # an annex starts on a new (landscape, in .docx) page: its tables are wide


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of running text."""

    text: str


@dataclass(frozen=True)
class BulletList:
    """A list of items introduced by a dash, as the official report writes them."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table whose first row is the header (repeated on each page in .docx)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str | None = None


Block = Heading | Paragraph | BulletList | Table


@dataclass(frozen=True)
class ReportMeta:
    """What the report is about: cut-off date, period, scope, language, and whether inputs were corrected."""

    as_of: date
    period: str
    lang: Lang
    unit_code: str | None
    unit_name: str
    generated_at: datetime
    corrected_after: datetime | None = None
    previous_as_of: date | None = None


@dataclass(frozen=True)
class ReportDocument:
    """The title lines, the blocks in order, and the coverage they were written from."""

    meta: ReportMeta
    title: tuple[str, ...]
    blocks: tuple[Block, ...]
    coverage: Coverage
    previous: Coverage | None = None
    # device id -> a label a person recognises (host name, unit), for the JSON items and the lists
    device_labels: dict[int, str] = field(default_factory=dict)
