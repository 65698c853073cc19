"""``kiemke-server db upgrade``: create or upgrade the database schema explicitly."""

from __future__ import annotations

import argparse
from typing import Any

from server.commands._common import add_json


def register(sub: Any) -> None:
    """Add the ``db`` sub-command."""
    parser = sub.add_parser("db", help="database schema")
    actions = parser.add_subparsers(dest="db_action", required=True, metavar="ACTION")
    upgrade = actions.add_parser("upgrade", help="create or upgrade the schema to the latest revision")
    add_json(upgrade)
    upgrade.set_defaults(handler=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    """Upgrade and say where the database stands."""
    from server.commands._common import print_json
    from server.config import Settings
    from server.db import current_revision, make_engine, upgrade

    settings = Settings.from_env()
    engine = make_engine(settings.url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    url = engine.url.render_as_string(hide_password=True)
    engine.dispose()
    if args.json:
        print_json({"database": url, "from": before, "to": after})
    else:
        print(f"{url}: schema at revision {after}" + (f" (was {before})" if before != after else " (already)"))
    return 0
