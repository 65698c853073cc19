"""Annex 1 (every unit's own figures, and the total) and annex 2 (the items behind each figure, on request)."""

from __future__ import annotations

from collections.abc import Sequence

from server.report.document import Block, Heading, Paragraph, Table
from server.report.numbers import format_count, format_share
from server.report.writer import UNIT_FIGURES, FigureWriter
from server.services.figure import FIGURE_KEYS, Figure

#: Annex 1 has two tables, each (label key, figure key) per column: infrastructure and limitation, then security.
INFRASTRUCTURE_COLUMNS = (
    ("col_staff", "computers_per_staff"),
    ("col_scanner", "units_with_scanner"),
    ("col_lan", "units_with_lan"),
    ("col_wifi", "units_with_wifi"),
    ("col_wan", "units_with_wan"),
    ("col_fibre", "units_with_fibre"),
    ("col_internet", "computers_internet_connected"),
    ("col_past_life", "past_service_life"),
)
SECURITY_COLUMNS = (
    ("col_agent", "computers_with_agent"),
    ("col_antivirus", "antivirus_installed"),
    ("col_av_enabled", "antivirus_enabled"),
    ("col_av_current", "antivirus_up_to_date"),
    ("col_licensed", "antivirus_licensed"),
    ("col_firewall", "firewall_enabled"),
    ("col_os_unsupported", "os_unsupported"),
    ("col_stale", "agents_stale"),
)


def annex_cell(w: FigureWriter, code: str, key: str) -> str:
    """A unit's own figure (without sub-units, which have their rows): a share, Có/Chưa có, or —."""
    own = w.own_share(code, key)
    if own is None or own[1] <= 0 or not 0 <= own[0] <= own[1]:
        return w.t("not_known")
    if key in UNIT_FIGURES and own[1] == 1:
        if w.own_detail(code, key, "unknown"):
            return w.t("not_known")  # not entered is not "no"
        return w.t("yes") if own[0] else w.t("no")
    return format_share(Figure(key, own[0], own[1]), w.lang) or w.t("not_known")


def _unit_table(w: FigureWriter, columns: tuple[tuple[str, str], ...]) -> Table:
    """Every unit in scope, one column per figure, and the scope's total on the last row."""
    header = (w.t("col_no"), w.t("col_unit"), *(w.t(label) for label, _ in columns))
    rows = [
        (str(i), w.unit_name(code), *(annex_cell(w, code, key) for _, key in columns))
        for i, code in enumerate((c for c in w.tree.order if c in w.cov.per_unit), 1)
    ]
    total = []
    for _, key in columns:
        fig = w.cov.figures.get(key)
        total.append((format_share(fig, w.lang) if fig else None) or w.t("not_known"))
    scope = w.unit_name(w.cov.unit_code) if w.cov.unit_code else w.t("scope_all")
    rows.append(("", scope, *total))
    return Table(header=header, rows=tuple(rows))


def annex_units(w: FigureWriter) -> list[Block]:
    """Annex 1: every unit in scope with the same figures as the text, and the total."""
    return [
        Heading(w.t("annex_units"), 1, annex=True),
        Heading(w.t("annex_infrastructure"), 3),
        _unit_table(w, INFRASTRUCTURE_COLUMNS),
        Heading(w.t("annex_security"), 3),
        _unit_table(w, SECURITY_COLUMNS),
        Paragraph(w.t("annex_legend")),
    ]


#: What ``all`` lists: every figure but the breakdowns by unit kind, whose items are in their total's list.
LISTED_KEYS = tuple(key for key in FIGURE_KEYS if ":" not in key)


def item_keys(text: str) -> tuple[str, ...]:
    """Figure keys from ``all`` or ``os_unsupported,agents_stale``; ValueError naming the valid keys."""
    if text.strip().lower() in ("all", "true", "1", ""):
        return LISTED_KEYS
    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in keys if k not in FIGURE_KEYS]
    if unknown:
        raise ValueError(f"unknown figure {unknown[0]!r}; use 'all' or some of: {', '.join(FIGURE_KEYS)}")
    return keys


def annex_items(w: FigureWriter, keys: Sequence[str] = LISTED_KEYS) -> list[Block]:
    """Annex 2: the devices or units behind each figure, for the officer to open and check."""
    blocks: list[Block] = [Heading(w.t("annex_items"), 1, annex=True)]
    for key in keys:
        fig = w.cov.figures.get(key)
        if fig is None:
            continue
        counts = f"{format_count(fig.numerator, w.lang)}/{format_count(fig.denominator, w.lang)}"
        blocks.append(Heading(f"{w.t('fig:' + key)} ({counts})", 3))
        if not fig.items:
            blocks.append(Paragraph(w.t("items_not_listed" if fig.numerator else "items_none")))
            continue
        rows: list[tuple[str, ...]] = []
        for i, item in enumerate(fig.items, 1):
            if isinstance(item, int):
                device = w.devices.get(item)
                unit = w.unit_name(device.unit_code) if device else w.t("not_known")
                serial = (device.serial if device else None) or w.t("not_known")
                rows.append((str(i), w.device_label(item), unit, serial))
            else:
                rows.append((str(i), w.unit_name(item)))
        if isinstance(fig.items[0], int):
            header: tuple[str, ...] = (w.t("col_no"), w.t("col_device"), w.t("col_unit"),
                                       w.t("col_serial"))
        else:
            header = (w.t("col_no"), w.t("col_unit"))
        blocks.append(Table(header=header, rows=tuple(rows)))
    return blocks
