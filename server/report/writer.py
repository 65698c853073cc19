"""The sentences' building blocks: names of units and devices, one figure as a share or as missing data,
comparison with the previous period, and a unit's own share without its sub-units.

Per-unit figures from coverage are over each unit's subtree; the report's tables show each unit's own
numbers (its sub-units have their own rows), so ``own_share`` subtracts the children.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from server.report.labels import Labels
from server.report.numbers import Lang, format_count, format_number, format_points, format_share, percent_decimal
from server.services.figure import Coverage, Figure
from server.services.state import DeviceState, Snapshot, UnitState
from server.services.unit_tree import UnitTree as Lookups
from server.vocab import UNIT_KINDS

#: Figures counted over units: a leaf unit's own share reads better as "Có"/"Chưa có" than as 100%/0%.
UNIT_FIGURES = frozenset(
    {"units_with_scanner", "units_with_lan", "units_with_wifi", "units_with_wan", "units_with_fibre",
     "one_stop_shops_equipped"}
)
#: The body of the report stays short enough to paste: longer name lists end with a count; the annex has all.
NAMES_SHOWN = 10
#: Reading order of unit kinds, as the district report lists them.
_KIND_ORDER = {kind: rank for rank, kind in enumerate(UNIT_KINDS)}


def missing_reason_key(key: str) -> str:
    """Which 'data is missing' wording fits a figure whose denominator is 0."""
    base = key.split(":", 1)[0]
    if base == "computers_per_staff":
        return "missing_staff"
    if base == "one_stop_shops_equipped":
        return "missing_shops"
    if base.startswith("units_with_"):
        return "missing_units"
    if base in ("computers_internet_connected", "computers_air_gapped", "computers_with_agent"):
        return "missing_computers"
    if base == "air_gap_violations":
        return "missing_air_gapped"
    if base == "past_service_life":
        return "missing_devices"
    return "missing_agents"


@dataclass(frozen=True)
class UnitTree:
    """The units in scope, in reading order (parents first, then departments, communes, schools)."""

    units: dict[str, UnitState]
    children: dict[str, tuple[str, ...]]
    order: tuple[str, ...]

    @classmethod
    def of(cls, snapshot: Snapshot, root: str | None) -> UnitTree:
        """The tree of ``snapshot`` below ``root`` (the whole tree when None)."""
        tree = Lookups(snapshot.units)  # parents checked and cycles broken once, as coverage sees them
        units = tree.units

        def reading_order(codes: list[str]) -> list[str]:
            return sorted(codes, key=lambda c: (_KIND_ORDER.get(units[c].kind, 9), units[c].name))

        kids = {code: reading_order(below) for code, below in tree.children.items()}
        order: list[str] = []
        stack = [root] if root in units else list(reversed(reading_order(tree.roots)))
        while stack:  # iterative depth-first walk: a deep tree must not hit the recursion limit
            code = stack.pop()
            order.append(code)
            stack.extend(reversed(kids[code]))
        children = {code: tuple(kids[code]) for code in order}
        return cls(units={c: units[c] for c in order}, children=children, order=tuple(order))

    def name(self, code: str) -> str | None:
        """The unit's name, or None when the snapshot does not know the code."""
        unit = self.units.get(code)
        return unit.name if unit else None


class FigureWriter:
    """Words for figures in one language, from one coverage and the snapshot it was computed from."""

    def __init__(
        self,
        coverage: Coverage,
        snapshot: Snapshot,
        lang: Lang,
        previous: Coverage | None,
        service_life_years: float,
    ) -> None:
        self.cov = coverage
        self.snap = snapshot
        self.lang: Lang = lang
        self.t = Labels(lang)
        self.prev = previous
        self.years = format_number(service_life_years, lang)
        self.tree = UnitTree.of(snapshot, coverage.unit_code)
        self.devices: dict[int, DeviceState] = {d.id: d for d in snapshot.devices}

    # -- names -------------------------------------------------------------------------------------------
    def unit_name(self, code: str) -> str:
        """A unit's name, or a plain stand-in when the snapshot lacks it."""
        return self.tree.name(code) or next(
            (u.name for u in self.snap.units if u.code == code), self.t("unit_unknown", code=code)
        )

    def device_label(self, device_id: int) -> str:
        """Host name or name, with the model when known: what an officer finds written on the machine."""
        device = self.devices.get(device_id)
        if device is None:
            return self.t("device_unknown", id=device_id)
        name = device.hostname or device.name
        model = " ".join(p for p in (device.vendor, device.model) if p)
        if name and model:
            return f"{name} ({model})"
        return name or model or self.t("device_unknown", id=device_id)

    def unit_list(self, codes: Iterable[str]) -> str:
        """Unit names joined by commas, in reading order; past ``NAMES_SHOWN`` the rest is a count."""
        position = {code: i for i, code in enumerate(self.tree.order)}
        ordered = sorted(codes, key=lambda c: (position.get(c, len(position)), c))
        names = ", ".join(self.unit_name(c) for c in ordered[:NAMES_SHOWN])
        if len(ordered) > NAMES_SHOWN:
            names += " " + self.t("more_units", count=format_count(len(ordered) - NAMES_SHOWN, self.lang))
        return names

    # -- figures -----------------------------------------------------------------------------------------
    def figure(self, key: str) -> Figure:
        """The scope's figure; an absent one counts as nothing to count (missing data)."""
        return self.cov.figures.get(key) or Figure(key=key, numerator=0, denominator=0)

    def comparison(self, key: str) -> str:
        """``, tăng 2,50 điểm phần trăm so với kỳ trước (…)`` or empty when there is no earlier figure."""
        if self.prev is None or key not in self.prev.figures:
            return ""
        now, before = percent_decimal(self.figure(key)), percent_decimal(self.prev.figures[key])
        if now is None or before is None:
            return ""
        previous = format_share(self.prev.figures[key], self.lang) or ""
        diff = now - before
        if diff > 0:
            return self.t("comparison_up", points=format_points(diff, self.lang), previous=previous)
        if diff < 0:
            return self.t("comparison_down", points=format_points(diff, self.lang), previous=previous)
        return self.t("comparison_same")

    def line(self, key: str, suffix: str = "") -> str:
        """One sentence: the figure's label and share, or why the data is missing."""
        fig = self.figure(key)
        label = self.t(f"fig:{key}")
        share = format_share(fig, self.lang)
        if share is None:
            return self.t("line_missing", label=label, reason=self.t(missing_reason_key(key)))
        return self.t("line_share", label=label, share=share + suffix, comparison=self.comparison(key))

    def note_text(self, note: str) -> str:
        """Coverage notes (``licence_expired:BKAV; licence_overused:Kaspersky 12/10``) in plain words."""
        return "; ".join(self.one_note(part.strip()) for part in re.split(r"[;\n]", note) if part.strip())

    def one_note(self, note: str) -> str:
        """One note in plain words; an unforeseen one is shown as it is rather than hidden."""
        kind, _, arg = note.partition(":")
        template = self.t.get(f"note:{kind}")
        if template is None:
            return self.t("note_other", note=note)
        product, used, seats = arg.strip(), "", ""
        overuse = re.fullmatch(r"(.+?)\s+(\d+)/(\d+)", product)
        if kind == "licence_overused" and overuse:
            product = overuse.group(1)
            used = format_count(int(overuse.group(2)), self.lang)
            seats = format_count(int(overuse.group(3)), self.lang)
        return template.format(product=product, used=used, seats=seats).replace("  ", " ")

    def own_share(self, code: str, key: str) -> tuple[int, int] | None:
        """(numerator, denominator) of the unit itself, without its sub-units; None when not computed."""
        figs = self.cov.per_unit.get(code)
        if figs is None or key not in figs:
            return None
        num, den = figs[key].numerator, figs[key].denominator
        for child in self.tree.children.get(code, ()):
            child_fig = self.cov.per_unit.get(child, {}).get(key)
            if child_fig is not None:
                num, den = num - child_fig.numerator, den - child_fig.denominator
        return num, den

    def own_detail(self, code: str, key: str, name: str) -> int:
        """A breakdown count of the unit itself, without its sub-units."""
        fig = self.cov.per_unit.get(code, {}).get(key)
        if fig is None:
            return 0
        value = fig.detail.get(name, 0)
        for child in self.tree.children.get(code, ()):
            child_fig = self.cov.per_unit.get(child, {}).get(key)
            if child_fig is not None:
                value -= child_fig.detail.get(name, 0)
        return value

    def units_lacking(self, key: str) -> list[str]:
        """Units counted in a unit figure that do not have the thing themselves (known, not just unentered)."""
        lacking = []
        for code in self.tree.order:
            own = self.own_share(code, key)
            if own is not None and own[1] > 0 and own[0] < own[1] and not self.own_detail(code, key, "unknown"):
                lacking.append(code)
        return lacking

    # -- sections ----------------------------------------------------------------------------------------
