"""``kiemke-server licences import FILE``: antivirus licences bought."""

from __future__ import annotations

from typing import Any

from server.commands._sheets import add_import


def register(sub: Any) -> None:
    """Add the ``licences`` sub-command."""
    parser = sub.add_parser("licences", help="antivirus licences: product, seats, validity, unit")
    actions = parser.add_subparsers(dest="licences_action", required=True, metavar="ACTION")
    add_import(actions, "licences", "product, seats, valid_from, valid_to, unit", "import_licences")
