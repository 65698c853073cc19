"""Writes sections II.6, II.8 and III.2 of the district report, and its annexes, from a ``Coverage``.

Only renders: every number comes from the coverage figures (the console's source of truth); the snapshot
gives names of units and devices and the unit tree. A figure with nothing to count says the data is missing;
it is never shown as 100%.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo

from server.clock import local_date, utcnow
from server.config import report_timezone
from server.report.annex import annex_items, annex_units
from server.report.detections import detections_line
from server.report.document import Block, BulletList, Heading, Paragraph, ReportDocument, ReportMeta, Table
from server.report.labels import Labels
from server.report.numbers import Lang, format_count, format_date, format_share, format_years
from server.report.writer import FigureWriter
from server.services.figure import Coverage, Figure
from server.services.licences import EVIDENCE
from server.services.state import Snapshot
from server.vocab import SHOP_EQUIPMENT, STAFF_KINDS

OLDEST_SHOWN = 10
#: Rows of the per-unit limitation table in the body; the annex has every unit.
UNITS_SHOWN = 10


def default_period(as_of: date, lang: Lang) -> str:
    """The period a cut-off date reports on: mid-year cut-offs are the first half, later ones the year."""
    key = "period_first_half" if as_of.month <= 6 else "period_year"
    return Labels(lang)(key, year=as_of.year)


class SectionWriter(FigureWriter):
    """Builds the blocks of sections II.6, II.8 and III.2."""

    def frame(self, tz: tzinfo) -> list[Block]:
        """The sentences above the sections: where the numbers come from, corrections (dated in ``tz``), and
        the comparison period."""
        blocks: list[Block] = [Paragraph(self.t("source_note", date=format_date(self.cov.as_of, self.lang)))]
        corrected = self.cov.corrected_after or self.snap.corrected_after
        if corrected is not None:
            blocks.append(Paragraph(self.t(
                "corrected_note",
                date=format_date(self.cov.as_of, self.lang),
                corrected=format_date(local_date(corrected, tz), self.lang),
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
            items.append(self.with_unknown(self.line(key) + self.kind_breakdown(key), key, "not_entered_units"))
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
        text = self.line(key) + self.kind_breakdown(key)
        lacking = self.units_lacking(key)
        if lacking and self.figure(key).denominator:
            text += " " + self.t("units_lacking", label=self.t("lacking"), units=self.unit_list(lacking))
        unknown = [code for code in self.tree.order if self.own_detail(code, key, "unknown")]
        if unknown:
            text += " " + self.t("units_lacking", label=self.t("not_entered"), units=self.unit_list(unknown))
        return text

    def kind_breakdown(self, key: str) -> str:
        """`` Trong đó: 100,00% (15/15) xã, thị trấn; …`` for a unit figure, over the kinds the scope has."""
        parts, counts = [], []
        for kind in STAFF_KINDS:
            fig = self.cov.figures.get(f"{key}:{kind}") or Figure(key, 0, 0)
            share = format_share(fig, self.lang)
            if share is not None:  # a kind of unit the scope does not have is left out, not "no data"
                parts.append(self.t("units_breakdown_part", share=share, label=self.t(f"kind:{kind}")))
                counts.append((fig.numerator, fig.denominator))
        total = self.figure(key)
        if not parts or not total.denominator or counts == [(total.numerator, total.denominator)]:
            return ""  # one kind that is the whole figure: the breakdown would only repeat it
        return " " + self.t("breakdown", parts="; ".join(parts))

    def with_unknown(self, text: str, key: str, label: str) -> str:
        """A sentence followed by how many could not be judged (a fact not entered or not reported)."""
        unknown = self.figure(key).detail.get("unknown", 0)
        return f"{text} {self.t(label, count=format_count(unknown, self.lang))}" if unknown else text

    def shops_line(self) -> str:
        """One-stop shops fully equipped, and how many have each kind of equipment."""
        fig = self.figure("one_stop_shops_equipped")
        text = self.line("one_stop_shops_equipped") + self.kind_breakdown("one_stop_shops_equipped")
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
            if key == "antivirus_licensed":
                text += self.licence_evidence(fig)
            items.append(self.with_unknown(text, key, "unknown_computers"))
        items.append(detections_line(self))
        blocks.append(BulletList(tuple(items)))
        return blocks

    def licence_evidence(self, fig: Figure) -> str:
        """What the licensed figure rests on, kind by kind; empty when nothing was judged."""
        parts = [self.t(f"evidence:{kind}", n=fig.detail[kind], count=format_count(fig.detail[kind], self.lang))
                 for kind in EVIDENCE if fig.detail.get(kind)]
        text = " " + self.t("licence_evidence", parts="; ".join(parts)) if parts else ""
        expiring = self.cov.figures.get("antivirus_licence_expiring")
        if expiring is not None and expiring.numerator:
            text += " " + self.t("licence_expiring_line", n=expiring.numerator,
                                 count=format_count(expiring.numerator, self.lang),
                                 days=format_count(self.cov.licence_warn_days, self.lang))
        return text

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
            return [Paragraph(self.t("forecast_none")), *self.licence_forecast()]
        rows = []
        for year in years:
            per_unit = self.cov.forecast[year]
            position = {code: i for i, code in enumerate(self.tree.order)}
            top = sorted((c for c in per_unit if per_unit[c] > 0),
                         key=lambda c: (-per_unit[c], position.get(c, len(position)), c))[:3]
            most = ", ".join(f"{self.unit_name(c)} ({format_count(per_unit[c], self.lang)})" for c in top)
            rows.append((str(year), format_count(sum(per_unit.values()), self.lang), most))
        header = (self.t("col_year"), self.t("col_count"), self.t("col_units_most"))
        return [Paragraph(self.t("forecast_intro")), Table(header=header, rows=tuple(rows)),
                *self.licence_forecast()]

    def licence_forecast(self) -> list[Block]:
        """Antivirus licence seats to renew per budget year, with the products concerned."""
        rows = []
        for year, per_unit in sorted(self.cov.forecast_licences.items()):
            products: dict[str, int] = {}
            for seats in per_unit.values():
                for product, count in seats.items():
                    products[product] = products.get(product, 0) + count
            if products:
                listed = ", ".join(f"{name} ({format_count(n, self.lang)})" for name, n in sorted(products.items()))
                rows.append((str(year), format_count(sum(products.values()), self.lang), listed))
        if not rows:
            return []
        header = (self.t("col_year"), self.t("col_seats"), self.t("col_products"))
        return [Paragraph(self.t("forecast_licences_intro")), Table(header=header, rows=tuple(rows))]


def build_report(
    coverage: Coverage,
    snapshot: Snapshot,
    lang: Lang = "vi",
    *,
    period: str | None = None,
    previous: Coverage | None = None,
    items: bool | Sequence[str] = False,
    service_life_years: float = 5,
    generated_at: datetime | None = None,
    tz: tzinfo | None = None,
) -> ReportDocument:
    """The whole report document for ``coverage``: title, II.6, II.8, III.2, annex, and lists on request.

    ``items``: False for no lists, True for the lists behind every figure, or the figure keys to list.
    ``tz``: the district's zone, in which a correction is dated (default ``KIEMKE_TIMEZONE``).
    """
    writer = SectionWriter(coverage, snapshot, lang, previous, service_life_years)
    t = writer.t
    scope = writer.unit_name(coverage.unit_code) if coverage.unit_code else t("scope_all")
    meta = ReportMeta(
        as_of=coverage.as_of,
        period=period or default_period(coverage.as_of, lang),
        lang=lang,
        unit_code=coverage.unit_code,
        unit_name=scope,
        generated_at=generated_at or utcnow(),
        corrected_after=coverage.corrected_after or snapshot.corrected_after,
        previous_as_of=previous.as_of if previous else None,
    )
    title = (
        t("title"),
        t("subtitle", period=meta.period),
        t("as_of_line", date=format_date(coverage.as_of, lang)),
    )
    blocks: list[Block] = [Paragraph(t("scope_line", unit=scope)), *writer.frame(tz or report_timezone())]
    blocks.append(Heading(t("part_results"), 1))
    blocks.extend(writer.infrastructure())
    blocks.extend(writer.security())
    blocks.append(Heading(t("part_assessment"), 1))
    blocks.extend(writer.limitations())
    blocks.extend(annex_units(writer))
    if items:  # True: every figure's list; a sequence of keys: those figures' lists
        blocks.extend(annex_items(writer) if items is True else annex_items(writer, tuple(items)))
    labels = {d.id: writer.device_label(d.id) for d in snapshot.devices if d.id in coverage.assessments}
    return ReportDocument(meta=meta, title=title, blocks=tuple(blocks), coverage=coverage, previous=previous,
                          device_labels=labels)
