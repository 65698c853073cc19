"""``kiemke-server db``: upgrade the schema, back up and restore (SQLite), copy to another engine."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from server.commands._common import add_json, fail, print_json

PG_DUMP_HINT = ("this database is PostgreSQL: back it up with pg_dump, e.g. "
                "'pg_dump -Fc -f kiemke.dump \"$DATABASE_URL\"' (restore: 'pg_restore --clean --if-exists -d ...'); "
                "see deploy/README.md")


def register(sub: Any) -> None:
    """Add the ``db`` sub-command."""
    parser = sub.add_parser("db", help="database schema, backup, restore, copy to another engine")
    actions = parser.add_subparsers(dest="db_action", required=True, metavar="ACTION")
    upgrade = actions.add_parser("upgrade", help="create or upgrade the schema to the latest revision")
    add_json(upgrade)
    upgrade.set_defaults(handler=run_upgrade)

    backup = actions.add_parser("backup", help="copy the SQLite database to a new file, consistent while the "
                                "server writes (PostgreSQL: use pg_dump)")
    backup.add_argument("--out", type=Path, required=True, metavar="FILE", help="the new backup file")
    add_json(backup)
    backup.set_defaults(handler=run_backup)

    restore = actions.add_parser("restore", help="replace the SQLite database with a backup (then upgrade it)")
    restore.add_argument("file", type=Path, metavar="FILE", help="a backup made by 'db backup'")
    restore.add_argument("--force", action="store_true", help="replace it even while a process has it open")
    add_json(restore)
    restore.set_defaults(handler=run_restore)

    copy = actions.add_parser("copy", help="copy every table into another, empty database (SQLite to PostgreSQL)")
    copy.add_argument("--to", required=True, metavar="URL",
                      help="the target, e.g. postgresql+psycopg://kiemke@db/kiemke (must be empty)")
    add_json(copy)
    copy.set_defaults(handler=run_copy)


def _settings_url() -> str:
    from server.config import Settings

    return Settings.from_env().url


def _shown(url: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(url).render_as_string(hide_password=True)


def run_upgrade(args: argparse.Namespace) -> int:
    """Upgrade and say where the database stands."""
    from server.db import current_revision, make_engine, upgrade

    engine = make_engine(_settings_url())
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


def run_backup(args: argparse.Namespace) -> int:
    """Write the backup file and say what it holds."""
    from server.ops.backup import OperationError, backup_sqlite, sqlite_file

    url = _settings_url()
    path = sqlite_file(url)
    if path is None:
        return fail(PG_DUMP_HINT if url.startswith("postgresql") else f"cannot back up {_shown(url)}: not SQLite")
    try:
        done = backup_sqlite(path, args.out)
    except OperationError as exc:
        return fail(str(exc))
    if args.json:
        print_json({"database": str(path), "out": str(done.out), "bytes": done.bytes, "revision": done.revision})
    else:
        print(f"{path} backed up to {done.out} ({done.bytes:,} bytes, schema revision {done.revision})")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    """Restore, upgrade to the latest schema, and record who did it in the audit log."""
    from server.clock import utcnow
    from server.db import current_revision, make_engine, upgrade, writing
    from server.ops.backup import OperationError, known_revisions, restore_sqlite, sqlite_file
    from server.services.records import audit, os_user

    url = _settings_url()
    path = sqlite_file(url)
    if path is None:
        return fail(PG_DUMP_HINT if url.startswith("postgresql") else f"cannot restore into {_shown(url)}")
    try:
        before = restore_sqlite(args.file, path, known_revisions(), force=args.force)
    except OperationError as exc:
        return fail(str(exc))
    engine = make_engine(url)
    upgrade(engine)
    after = current_revision(engine)
    with writing(engine) as session:
        audit(session, os_user(), "db.restore", utcnow(), file=str(args.file.resolve()), revision=before,
              forced=args.force)
    engine.dispose()
    if args.json:
        print_json({"database": str(path), "restored_from": str(args.file), "from": before, "to": after})
    else:
        print(f"{path} restored from {args.file} (schema revision {before}" +
              (f", upgraded to {after})" if after != before else ")"))
    return 0


def run_copy(args: argparse.Namespace) -> int:
    """Copy the configured database into ``--to`` and print the rows per table."""
    from server.db import make_engine, open_database, upgrade
    from server.ops.backup import OperationError
    from server.ops.copy import copy_database

    source_url = _settings_url()
    if _shown(source_url) == _shown(args.to):
        return fail("--to is the configured database itself")
    source = open_database(source_url)
    target = make_engine(args.to)
    try:
        upgrade(target)

        def progress(table: str, rows: int) -> None:
            if not args.json:
                print(f"  {table:28} {rows:>10,} rows")

        copied = copy_database(source, target, progress)
    except OperationError as exc:
        return fail(str(exc))
    finally:
        source.dispose()
        target.dispose()
    if args.json:
        print_json({"from": _shown(source_url), "to": _shown(args.to), "tables": copied,
                    "rows": sum(copied.values())})
    else:
        print(f"{sum(copied.values()):,} rows copied from {_shown(source_url)} to {_shown(args.to)}; "
              "point DATABASE_URL at the target and start the servers")
    return 0
