"""Writes sections II.6, II.8 and III.2 of the district report, and its annexes, from a ``Coverage``.

Only renders: every number comes from the coverage figures (the console's source of truth); the snapshot
gives names of units and devices, headcount gaps and the unit tree. A figure with nothing to count says the
data is missing; it is never shown as 100%.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone

from server.report.document import Block, BulletList, Heading, Paragraph, ReportDocument, ReportMeta, Table
from server.report.labels import Labels
from server.report.numbers import (
    Lang,
    format_count,
    format_date,
    format_number,
    format_points,
    format_share,
    format_years,
    percent_decimal,
)
from server.services.figure import FIGURE_KEYS, Coverage, Figure
from server.services.state import DeviceState, Snapshot, UnitState

#: Figures counted over units: a leaf unit's own share reads better as "Có"/"Chưa có" than as 100%/0%.
UNIT_FIGURES = frozenset(
    {"units_with_scanner", "units_with_lan", "units_with_wifi", "units_with_wan", "units_with_fibre",
     "one_stop_shops_equipped"}
)
#: The breakdown of computers per official, in the order the district report lists unit kinds.
STAFF_KINDS = ("department", "commune", "school")
#: One-stop shop equipment the district report names, in its order.
SHOP_EQUIPMENT = ("computer", "printer", "photocopier", "scanner", "camera")
ANNEX_COLUMNS = (
    ("col_staff", "computers_per_staff"),
    ("col_scanner", "units_with_scanner"),
    ("col_lan", "units_with_lan"),
    ("col_wifi", "units_with_wifi"),
    ("col_fibre", "units_with_fibre"),
    ("col_internet", "computers_internet_connected"),
    ("col_antivirus", "antivirus_installed"),
    ("col_licensed", "antivirus_licensed"),
    ("col_past_life", "past_service_life"),
)
OLDEST_SHOWN = 10
#: The body of the report stays short enough to paste: longer lists end with a count and the annex has all.
NAMES_SHOWN = 10
UNITS_SHOWN = 10
_KIND_ORDER = {"district": 0, "department": 1, "commune": 2, "school": 3, "other": 4}


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


def default_period(as_of: date, lang: Lang) -> str:
    """The period a cut-off date reports on: mid-year cut-offs are the first half, later ones the year."""
    key = "period_first_half" if as_of.month <= 6 else "period_year"
    return Labels(lang)(key, year=as_of.year)


@dataclass(frozen=True)
class UnitTree:
    """The units in scope, in reading order (parents first, then departments, communes, schools)."""

    units: dict[str, UnitState]
    children: dict[str, tuple[str, ...]]
    order: tuple[str, ...]

    @classmethod
    def of(cls, snapshot: Snapshot, root: str | None) -> UnitTree:
        """The tree of ``snapshot`` below ``root`` (the whole tree when None)."""
        units = {u.code: u for u in snapshot.units}
        kids: dict[str | None, list[UnitState]] = {}
        for unit in snapshot.units:
            parent = unit.parent_code if unit.parent_code in units else None
            kids.setdefault(parent, []).append(unit)
        for siblings in kids.values():
            siblings.sort(key=lambda u: (_KIND_ORDER.get(u.kind, 9), u.name))
        order: list[str] = []
        stack = [units[root]] if root in units else list(reversed(kids.get(None, [])))
        while stack:  # iterative depth-first walk: a deep tree must not hit the recursion limit
            unit = stack.pop()
            order.append(unit.code)
            stack.extend(reversed(kids.get(unit.code, [])))
        children = {code: tuple(u.code for u in kids.get(code, [])) for code in order}
        return cls(units={c: units[c] for c in order}, children=children, order=tuple(order))

    def name(self, code: str) -> str | None:
        """The unit's name, or None when the snapshot does not know the code."""
        unit = self.units.get(code)
        return unit.name if unit else None


class SectionWriter:
    """Builds the blocks of the report in one language from one coverage."""

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
    def frame(self) -> list[Block]:
        """The sentences above the sections: where the numbers come from, corrections, comparison period."""
        blocks: list[Block] = [Paragraph(self.t("source_note", date=format_date(self.cov.as_of, self.lang)))]
        corrected = self.cov.corrected_after or self.snap.corrected_after
        if corrected is not None:
            blocks.append(Paragraph(self.t(
                "corrected_note",
                date=format_date(self.cov.as_of, self.lang),
                corrected=format_date(corrected.date(), self.lang),
            )))
        if self.prev is not None:
            blocks.append(Paragraph(self.t("previous_note", date=format_date(self.prev.as_of, self.lang))))
        return blocks

    def infrastructure(self) -> list[Block]:
        """II.6: computers per official, scanners, one-stop shops, networks, fibre, internet."""
        items: list[str] = [self.line("computers_per_staff")]
        parts = []
        for kind in STAFF_KINDS:
            key = f"computers_per_staff:{kind}"
            if key not in self.cov.figures:
                continue
            share = format_share(self.cov.figures[key], self.lang)
            label = self.t(f"kind:{kind}")
            parts.append(
                self.t("breakdown_part", label=label, share=share) if share
                else self.t("breakdown_missing", label=label, reason=self.t("missing_staff"))
            )
        if parts:
            items[-1] += " " + self.t("breakdown", parts="; ".join(parts))
        no_staff = [c for c in self.tree.order if self.own_detail(c, "computers_per_staff", "units_without_staff")]
        if no_staff:
            uncounted = self.figure("computers_per_staff").detail.get("computers_without_staff", 0)
            items.append(self.t("units_without_staff", units=self.unit_list(no_staff),
                                computers=format_count(uncounted, self.lang)))
        items.append(self.with_lacking("units_with_scanner"))
        items.append(self.shops_line())
        items.append(self.with_lacking("units_with_lan"))
        for key in ("units_with_wifi", "units_with_wan"):
            items.append(self.with_unknown(self.line(key), key, "not_entered_units"))
        items.append(self.with_lacking("units_with_fibre"))
        air = self.figure("computers_air_gapped")
        internet = self.figure("computers_internet_connected")
        suffix = ""
        if internet.detail.get("air_gapped"):
            suffix += self.t("internet_excluded", count=format_count(internet.detail["air_gapped"], self.lang))
        if internet.detail.get("no_agent"):
            suffix += self.t("internet_no_agent", count=format_count(internet.detail["no_agent"], self.lang))
        items.append(self.with_unknown(self.line("computers_internet_connected", suffix),
                                       "computers_internet_connected", "unknown_computers"))
        air_share = format_share(air, self.lang)
        if air.numerator and air_share:
            items.append(self.t("air_gapped_line", count=format_count(air.numerator, self.lang), share=air_share))
        items.append(self.line("computers_with_agent"))
        blocks: list[Block] = [Heading(self.t("section_infrastructure"), 2), BulletList(tuple(items))]
        shops_table = self.shops_table()
        if shops_table is not None:
            blocks.append(shops_table)
        return blocks

    def with_lacking(self, key: str) -> str:
        """A unit figure's sentence, the units that lack the thing, and those whose fact was not entered."""
        text = self.line(key)
        lacking = self.units_lacking(key)
        if lacking and self.figure(key).denominator:
            text += " " + self.t("units_lacking", label=self.t("lacking"), units=self.unit_list(lacking))
        unknown = [code for code in self.tree.order if self.own_detail(code, key, "unknown")]
        if unknown:
            text += " " + self.t("units_lacking", label=self.t("not_entered"), units=self.unit_list(unknown))
        return text

    def with_unknown(self, text: str, key: str, label: str) -> str:
        """A sentence followed by how many could not be judged (a fact not entered or not reported)."""
        unknown = self.figure(key).detail.get("unknown", 0)
        return f"{text} {self.t(label, count=format_count(unknown, self.lang))}" if unknown else text

    def shops_line(self) -> str:
        """One-stop shops fully equipped, and how many have each kind of equipment."""
        fig = self.figure("one_stop_shops_equipped")
        text = self.line("one_stop_shops_equipped")
        parts = [
            self.t("shops_part", label=self.t(f"equipment:{kind}"), count=format_count(fig.detail[kind], self.lang),
                   total=format_count(fig.denominator, self.lang))
            for kind in SHOP_EQUIPMENT if kind in fig.detail
        ]
        if parts and fig.denominator:
            text += " " + self.t("shops_breakdown", parts=", ".join(parts))
        return text

    def shops_table(self) -> Table | None:
        """Each one-stop shop and whether it has each kind of equipment."""
        shops = [code for code in self.tree.order if self.tree.units[code].one_stop_shop]
        if not shops:
            return None
        rows = []
        for i, code in enumerate(shops, 1):
            figure = self.cov.per_unit.get(code, {}).get("one_stop_shops_equipped")
            cells = []
            for kind in SHOP_EQUIPMENT:
                if figure is None or kind not in figure.detail:
                    cells.append(self.t("not_known"))
                else:  # the shop's own equipment: a sub-unit's photocopier does not serve this counter
                    cells.append(self.t("yes") if self.own_detail(code, "one_stop_shops_equipped", kind) > 0
                                 else self.t("no"))
            rows.append((str(i), self.unit_name(code), *cells))
        equipment = (self.t(f"equipment:{k}") for k in SHOP_EQUIPMENT)
        # str.capitalize would lower-case the rest ("Máy scan"); only the first letter changes
        header = (self.t("col_no"), self.t("col_unit"), *(e[:1].upper() + e[1:] for e in equipment))
        return Table(header=header, rows=tuple(rows), caption=self.t("fig:one_stop_shops_equipped"))

    def security(self) -> list[Block]:
        """II.8: antivirus installed, on, current, licensed; firewall; old systems; air gap; silent agents."""
        blocks: list[Block] = [Heading(self.t("section_security"), 2)]
        agents = self.figure("computers_with_agent")
        agent_share = format_share(agents, self.lang)
        if not agents.numerator or agent_share is None:
            blocks.append(Paragraph(self.t("security_no_agents")))
            return blocks
        count = format_count(agents.numerator, self.lang)
        blocks.append(Paragraph(self.t("security_intro", count=count, share=agent_share)))
        items = []
        for key in ("antivirus_installed", "antivirus_enabled", "antivirus_up_to_date", "antivirus_licensed",
                    "firewall_enabled", "os_unsupported", "air_gap_violations", "agents_stale"):
            text = self.line(key)
            fig = self.figure(key)
            if key == "antivirus_licensed" and fig.note and fig.numerator < fig.denominator:
                text += " " + self.t("licence_reason", reason=self.note_text(fig.note))
            items.append(self.with_unknown(text, key, "unknown_computers"))
        blocks.append(BulletList(tuple(items)))
        return blocks

    def limitations(self) -> list[Block]:
        """III.2: devices past their service life, per unit, the oldest, and the replacement forecast."""
        blocks: list[Block] = [Heading(self.t("section_limitations"), 2)]
        fig = self.figure("past_service_life")
        blocks.append(Paragraph(self.t("limitations_intro", years=self.years)))
        share = format_share(fig, self.lang)
        items = []
        if share is None:
            items.append(self.line("past_service_life"))
        elif fig.numerator == 0:
            items.append(self.t("limitations_none", years=self.years))
        else:
            items.append(self.t("past_life_line", label=self.t("fig:past_service_life"), share=share,
                                comparison=self.comparison("past_service_life")))
        unknown = fig.detail.get("age_unknown", 0)
        if unknown:
            items.append(self.t("age_unknown_line", count=format_count(unknown, self.lang)))
        blocks.append(BulletList(tuple(items)))
        if fig.numerator:
            blocks.extend(self.past_life_per_unit())
            blocks.extend(self.oldest())
            blocks.append(Paragraph(self.t("limitations_effect")))
        blocks.extend(self.forecast())
        return blocks

    def past_life_per_unit(self) -> list[Block]:
        """Units with devices past their service life, most first."""
        rows = []
        for code in self.tree.order:
            own = self.own_share(code, "past_service_life")
            if own is not None and own[0] > 0:
                rows.append((code, own[0], own[1]))
        if not rows:
            return []
        rows.sort(key=lambda r: -r[1])  # stable: ties keep reading order
        intro = self.t("limitations_per_unit") if len(rows) <= UNITS_SHOWN else self.t(
            "limitations_per_unit_top", count=UNITS_SHOWN)
        table_rows = tuple(
            (str(i), self.unit_name(code), format_count(num, self.lang),
             format_share(Figure("past_service_life", num, den), self.lang) or self.t("not_known"))
            for i, (code, num, den) in enumerate(rows[:UNITS_SHOWN], 1)
        )
        header = (self.t("col_no"), self.t("col_unit"), self.t("col_count"), self.t("col_share"))
        return [Paragraph(intro), Table(header=header, rows=table_rows)]

    def oldest(self) -> list[Block]:
        """The oldest devices, with their age and how the age is known."""
        rows: list[tuple[str, ...]] = []
        for device_id in self.cov.oldest[:OLDEST_SHOWN]:
            assessment = self.cov.assessments.get(device_id)
            device = self.devices.get(device_id)
            if assessment is None or assessment.age_years is None:
                continue
            age = format_years(assessment.age_years, self.lang)
            if assessment.age_estimated:
                age += f" ({self.t('estimated')})"
            source = self.t.get(f"age:{assessment.age_source}") or assessment.age_source
            unit = self.unit_name(device.unit_code) if device else self.t("not_known")
            rows.append((str(len(rows) + 1), self.device_label(device_id), unit, age, source))
        if not rows:
            return []
        header = (self.t("col_no"), self.t("col_device"), self.t("col_unit"), self.t("col_age"),
                  self.t("col_age_source"))
        return [Paragraph(self.t("oldest_intro")), Table(header=header, rows=tuple(rows))]

    def forecast(self) -> list[Block]:
        """Devices reaching the end of their service life per budget year."""
        years = sorted(y for y, per_unit in self.cov.forecast.items() if sum(per_unit.values()) > 0)
        if not years:
            return [Paragraph(self.t("forecast_none"))]
        rows = []
        for year in years:
            per_unit = self.cov.forecast[year]
            position = {code: i for i, code in enumerate(self.tree.order)}
            top = sorted((c for c in per_unit if per_unit[c] > 0),
                         key=lambda c: (-per_unit[c], position.get(c, len(position)), c))[:3]
            most = ", ".join(f"{self.unit_name(c)} ({format_count(per_unit[c], self.lang)})" for c in top)
            rows.append((str(year), format_count(sum(per_unit.values()), self.lang), most))
        header = (self.t("col_year"), self.t("col_count"), self.t("col_units_most"))
        return [Paragraph(self.t("forecast_intro")), Table(header=header, rows=tuple(rows))]

    def annex_cell(self, code: str, key: str) -> str:
        """A unit's own figure (without sub-units, which have their rows): a share, Có/Chưa có, or —."""
        own = self.own_share(code, key)
        if own is None or own[1] <= 0 or not 0 <= own[0] <= own[1]:
            return self.t("not_known")
        if key in UNIT_FIGURES and own[1] == 1:
            if self.own_detail(code, key, "unknown"):
                return self.t("not_known")  # not entered is not "no"
            return self.t("yes") if own[0] else self.t("no")
        return format_share(Figure(key, own[0], own[1]), self.lang) or self.t("not_known")

    def annex_units(self) -> list[Block]:
        """Annex 1: every unit in scope with the same figures as the text, and the total."""
        header = (self.t("col_no"), self.t("col_unit"), *(self.t(label) for label, _ in ANNEX_COLUMNS))
        rows = [
            (str(i), self.unit_name(code), *(self.annex_cell(code, key) for _, key in ANNEX_COLUMNS))
            for i, code in enumerate((c for c in self.tree.order if c in self.cov.per_unit), 1)
        ]
        total = []
        for _, key in ANNEX_COLUMNS:
            fig = self.cov.figures.get(key)
            total.append((format_share(fig, self.lang) if fig else None) or self.t("not_known"))
        scope = self.unit_name(self.cov.unit_code) if self.cov.unit_code else self.t("scope_all")
        rows.append(("", scope, *total))
        return [Heading(self.t("annex_units"), 1, annex=True), Table(header=header, rows=tuple(rows)),
                Paragraph(self.t("annex_legend"))]

    def annex_items(self) -> list[Block]:
        """Annex 2: the devices or units behind each figure, for the officer to open and check."""
        blocks: list[Block] = [Heading(self.t("annex_items"), 1, annex=True)]
        for key in FIGURE_KEYS:
            fig = self.cov.figures.get(key)
            if fig is None:
                continue
            counts = f"{format_count(fig.numerator, self.lang)}/{format_count(fig.denominator, self.lang)}"
            blocks.append(Heading(f"{self.t('fig:' + key)} ({counts})", 3))
            if not fig.items:
                blocks.append(Paragraph(self.t("items_not_listed" if fig.numerator else "items_none")))
                continue
            rows: list[tuple[str, ...]] = []
            for i, item in enumerate(fig.items, 1):
                if isinstance(item, int):
                    device = self.devices.get(item)
                    unit = self.unit_name(device.unit_code) if device else self.t("not_known")
                    serial = (device.serial if device else None) or self.t("not_known")
                    rows.append((str(i), self.device_label(item), unit, serial))
                else:
                    rows.append((str(i), self.unit_name(item)))
            if isinstance(fig.items[0], int):
                header: tuple[str, ...] = (self.t("col_no"), self.t("col_device"), self.t("col_unit"),
                                           self.t("col_serial"))
            else:
                header = (self.t("col_no"), self.t("col_unit"))
            blocks.append(Table(header=header, rows=tuple(rows)))
        return blocks


def build_report(
    coverage: Coverage,
    snapshot: Snapshot,
    lang: Lang = "vi",
    *,
    period: str | None = None,
    previous: Coverage | None = None,
    items: bool = False,
    service_life_years: float = 5,
    generated_at: datetime | None = None,
) -> ReportDocument:
    """The whole report document for ``coverage``: title, II.6, II.8, III.2, annex, and lists on request."""
    writer = SectionWriter(coverage, snapshot, lang, previous, service_life_years)
    t = writer.t
    scope = writer.unit_name(coverage.unit_code) if coverage.unit_code else t("scope_all")
    meta = ReportMeta(
        as_of=coverage.as_of,
        period=period or default_period(coverage.as_of, lang),
        lang=lang,
        unit_code=coverage.unit_code,
        unit_name=scope,
        generated_at=generated_at or datetime.now(timezone.utc),
        corrected_after=coverage.corrected_after or snapshot.corrected_after,
        previous_as_of=previous.as_of if previous else None,
    )
    title = (
        t("title"),
        t("subtitle", period=meta.period),
        t("as_of_line", date=format_date(coverage.as_of, lang)),
    )
    blocks: list[Block] = [Paragraph(t("scope_line", unit=scope)), *writer.frame()]
    blocks.append(Heading(t("part_results"), 1))
    blocks.extend(writer.infrastructure())
    blocks.extend(writer.security())
    blocks.append(Heading(t("part_assessment"), 1))
    blocks.extend(writer.limitations())
    blocks.extend(writer.annex_units())
    if items:
        blocks.extend(writer.annex_items())
    labels = {d.id: writer.device_label(d.id) for d in snapshot.devices}
    return ReportDocument(meta=meta, title=title, blocks=tuple(blocks), coverage=coverage, previous=previous,
                          device_labels=labels)

