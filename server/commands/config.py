"""``kiemke-server config``: the effective settings, each with its variable and description; secrets masked."""

from __future__ import annotations

import argparse
from typing import Any

from server.commands._common import add_json


def register(sub: Any) -> None:
    """Add the ``config`` sub-command."""
    parser = sub.add_parser(
        "config", help="the effective settings (KIEMKE_* variables), secrets masked",
        description="Every setting the server reads, from the environment, .env or secret files, with its "
                    "effective value; the secret key, the metrics token and database passwords are never printed. "
                    "Exit code 2 when a value is refused, naming the variable.")
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the settings; a refused value ends in ``cannot start`` with exit code 2 (``server.cli``)."""
    from server.commands._common import print_json, settings, terminal, text_table

    lines = settings().shown()
    if args.json:
        print_json({"data": [{"variable": line.variable, "value": line.value, "default": line.is_default,
                              "description": line.description} for line in lines], "count": len(lines)})
        return 0
    table = text_table("kiemke-server settings (* = set, not the default)")
    for column in ("variable", "value", "description"):
        table.add_column(column)
    for line in lines:
        value = "(unset)" if line.value is None else ", ".join(line.value) if isinstance(line.value, list) \
            else str(line.value)
        table.add_row(("" if line.is_default else "* ") + line.variable, value, line.description)
    terminal().print(table)
    return 0
