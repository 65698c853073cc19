"""``kiemke-server assets import FILE``: devices kept by hand (scanners, printers, PCs without an agent)."""

from __future__ import annotations

from typing import Any

from server.commands._sheets import add_import


def register(sub: Any) -> None:
    """Add the ``assets`` sub-command."""
    parser = sub.add_parser("assets", help="hand-kept assets: scanners, printers, photocopiers, cameras, ...")
    actions = parser.add_subparsers(dest="assets_action", required=True, metavar="ACTION")
    add_import(actions, "assets", "unit, kind, name, vendor, model, serial, purchased_on, status, air_gapped",
               "import_assets")
