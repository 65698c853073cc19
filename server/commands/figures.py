"""``kiemke-server figures``: every coverage figure as of a date, for a person (tables) or a script (JSON)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from server.commands._common import add_json
from server.commands._coverage import add_scope

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import tzinfo

    from server.services.figure import Coverage, Figure
    from server.services.state import UnitState

#: One line of English per key, for the table; the report has its own Vietnamese wording.
LABELS = {
    "computers_per_staff": "Staff equipped with a computer",
    "units_with_scanner": "Units with a scanner",
    "one_stop_shops_equipped": "One-stop shops fully equipped",
    "units_with_lan": "Units with a LAN",
    "units_with_wifi": "Units with Wi-Fi",
    "units_with_wan": "Units on the WAN",
    "units_with_fibre": "Units with fibre broadband",
    "computers_internet_connected": "Computers connected to the internet (air-gapped excluded)",
    "computers_air_gapped": "Air-gapped computers (classified documents)",
    "computers_with_agent": "Computers reporting through the agent",
    "antivirus_installed": "Antivirus installed",
    "antivirus_enabled": "Antivirus enabled",
    "antivirus_up_to_date": "Antivirus signatures up to date",
    "antivirus_licensed": "Licensed antivirus enabled",
    "antivirus_licence_expiring": "Antivirus licences ending soon (of licensed)",
    "firewall_enabled": "Firewall on",
    "os_unsupported": "Operating system past vendor support",
    "air_gap_violations": "Air-gapped computers reporting internet access",
    "agents_stale": "Agents not seen recently",
    "past_service_life": "Devices in use past their service life",
}


_KINDS = {"department": "departments", "commune": "communes", "school": "schools"}


def label(key: str) -> str:
    """The table's label of a figure; a breakdown by unit kind (``units_with_lan:commune``) is indented."""
    base, _, kind = key.partition(":")
    if kind:
        return f"  of which in {_KINDS.get(kind, kind)}"
    return LABELS.get(base, base)


def register(sub: Any) -> None:
    """Add the ``figures`` sub-command."""
    parser = sub.add_parser(
        "figures",
        help="coverage figures (computers per staff, antivirus, internet, service life ...) as of a date",
        description="Every figure of the report as numerator/denominator with the list behind it, computed from "
        "the inventory as it stood at the end of the cut-off date.",
    )
    add_scope(parser)
    parser.add_argument("--per-unit", action="store_true",
                        help="also each unit's figures (its own subtree): a table of the main ones, or all in JSON")
    add_json(parser)
    parser.set_defaults(handler=run)


def as_json(cov: Coverage, per_unit: bool) -> dict[str, Any]:
    """The figures as JSON-ready data: every figure is ``{numerator, denominator, percent, items}``."""
    out: dict[str, Any] = {
        "as_of": cov.as_of.isoformat(),
        "unit": cov.unit_code,
        "corrected_after": cov.corrected_after.isoformat() if cov.corrected_after else None,
        "figures": {key: fig.as_json() for key, fig in cov.figures.items()},
        "forecast": {str(year): dict(units) for year, units in sorted(cov.forecast.items())},
        # budget year -> unit code ("*": district-wide) -> product -> seats whose licence ends that year
        "forecast_licences": {str(year): {unit: dict(products) for unit, products in units.items()}
                              for year, units in sorted(cov.forecast_licences.items())},
        "oldest": list(cov.oldest),
    }
    if per_unit:
        out["per_unit"] = {code: {k: f.as_json() for k, f in figs.items()} for code, figs in cov.per_unit.items()}
    return out


def share_text(fig: Figure) -> str:
    """'22.73% (10/44)' (half up, ``figure.percent_of``), or 'no data (0/0)' when there is nothing to count."""
    value = fig.percent_exact
    if value is None:
        return f"no data ({fig.numerator}/{fig.denominator})"
    return f"{value:.2f}% ({fig.numerator}/{fig.denominator})"


def _explain(fig: Figure) -> str:
    parts = [fig.note] if fig.note else []
    parts.extend(f"{name} {count}" for name, count in fig.detail.items() if count)
    return "; ".join(parts)


def run(args: argparse.Namespace) -> int:
    """Print the figures; exit code 2 for an unknown unit."""
    from server.commands._common import fail, print_json
    from server.commands._coverage import compute
    from server.services.figures import UnknownUnit

    try:
        computed = compute(args.as_of, args.unit)
    except UnknownUnit as exc:
        return fail(str(exc))
    cov = computed.coverage
    if args.json:
        print_json(as_json(cov, args.per_unit))
        return 0
    _print_tables(cov, computed.snapshot.units, args.per_unit, computed.tz)
    return 0


def _print_tables(cov: Coverage, units: Iterable[UnitState], per_unit: bool, tz: tzinfo) -> None:
    from server.clock import local_date
    from server.commands._common import terminal, text_table

    console = terminal()  # unit names come from spreadsheets: print them, never style them
    scope = cov.unit_code or "whole tree"
    table = text_table(f"Figures as of the end of {cov.as_of.isoformat()} ({scope})")
    table.add_column("figure")
    table.add_column("share", justify="right")
    table.add_column("why / breakdown")
    for key, fig in cov.figures.items():
        table.add_row(label(key), share_text(fig), _explain(fig))
    console.print(table)
    if cov.corrected_after is not None:
        console.print(f"Inputs for this date were corrected on {local_date(cov.corrected_after, tz).isoformat()}.")
    years = sorted(cov.forecast)
    if years:
        forecast = text_table("Devices reaching the end of their service life per budget year")
        forecast.add_column("unit")
        for year in years:
            forecast.add_column(str(year), justify="right")
        codes = sorted({code for per in cov.forecast.values() for code in per})
        for code in codes:
            forecast.add_row(code, *(str(cov.forecast[year].get(code, 0)) for year in years))
        forecast.add_row("total", *(str(sum(cov.forecast[year].values())) for year in years))
        console.print(forecast)
    renewals = [(year, unit, product, seats) for year, per_unit_seats in sorted(cov.forecast_licences.items())
                for unit, products in sorted(per_unit_seats.items()) for product, seats in sorted(products.items())]
    if renewals:
        licences = text_table("Antivirus licence seats to renew per budget year")
        for column in ("year", "unit", "product", "seats"):
            licences.add_column(column, justify="right" if column == "seats" else "left")
        for year, unit, product, seats in renewals:
            licences.add_row(str(year), unit, product, str(seats))
        console.print(licences)
    if per_unit:
        names = {u.code: u.name for u in units}
        main_keys = ("computers_per_staff", "units_with_scanner", "computers_internet_connected",
                     "antivirus_licensed", "past_service_life")
        by_unit = text_table("Per unit (each with its sub-units)")
        by_unit.add_column("unit")
        for key in main_keys:
            by_unit.add_column(key)
        for code, figs in cov.per_unit.items():
            by_unit.add_row(f"{code} {names.get(code, '')}".strip(), *(share_text(figs[key]) for key in main_keys))
        console.print(by_unit)
