"""``kiemke-server units import FILE`` and ``units list``."""

from __future__ import annotations

import argparse
from typing import Any

from server.commands._common import add_json
from server.commands._sheets import add_import


def register(sub: Any) -> None:
    """Add the ``units`` sub-command."""
    parser = sub.add_parser("units", help="organisational units (district, departments, communes, schools)")
    actions = parser.add_subparsers(dest="units_action", required=True, metavar="ACTION")
    add_import(actions, "units", "code, name, kind, parent, staff, lan, wifi, wan, internet, one_stop_shop",
               "import_units")
    listing = actions.add_parser("list", help="list the units as a tree")
    add_json(listing)
    listing.set_defaults(handler=run_list)


def run_list(args: argparse.Namespace) -> int:
    """Print the units, parents before children."""
    from dataclasses import asdict

    from server.clock import local_today
    from server.commands._common import open_db, print_json
    from server.config import Settings
    from server.db import reading
    from server.services.history import units_as_of

    settings = Settings.from_env()
    engine = open_db()
    with reading(engine) as session:
        units = units_as_of(session, local_today(settings.tz), tz=settings.tz)
    engine.dispose()
    if args.json:
        print_json({"data": [asdict(u) for u in units], "count": len(units)})
        return 0
    from server.commands._common import terminal, text_table

    def mark(value: bool | None) -> str:
        return "?" if value is None else ("yes" if value else "no")

    children: dict[str | None, list[Any]] = {}
    for unit in units:
        children.setdefault(unit.parent_code, []).append(unit)
    table = text_table(f"{len(units)} units")
    for column in ("code", "name", "kind", "staff", "LAN", "Wi-Fi", "WAN", "internet", "one-stop shop"):
        table.add_column(column)
    codes = {u.code for u in units}
    roots = [u for u in units if u.parent_code is None or u.parent_code not in codes]

    def add(unit: Any, depth: int) -> None:
        table.add_row("  " * depth + unit.code, unit.name, unit.kind, "" if unit.staff is None else str(unit.staff),
                      mark(unit.lan), mark(unit.wifi), mark(unit.wan), unit.internet or "?",
                      "yes" if unit.one_stop_shop else "")
        for child in children.get(unit.code, []):
            add(child, depth + 1)

    for root in roots:
        add(root, 0)
    terminal().print(table)  # names come from agents and spreadsheets: print, never style
    return 0
