"""Shared body of ``units import``, ``assets import`` and ``licences import``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine

from server.commands._common import add_json

Importer = Callable[[Engine, Path, str], object]


def add_import(actions: argparse._SubParsersAction[argparse.ArgumentParser], what: str, columns: str,
               importer_name: str) -> None:
    """Add an ``import FILE`` action that runs ``server.services.spreadsheets.<importer_name>``."""
    parser = actions.add_parser("import", help=f"create or update {what} from a CSV or XLSX file ({columns})")
    parser.add_argument("file", type=Path, metavar="FILE", help="CSV or XLSX with a header row")
    add_json(parser)
    parser.set_defaults(handler=lambda args: run_import(args, importer_name))


def run_import(args: argparse.Namespace, importer_name: str) -> int:
    """Import, print the counts, each bad row and why the file stopped being read; exit 1 unless all was taken."""
    from server.commands._common import fail, open_db, print_json
    from server.services import spreadsheets
    from server.services.records import os_user

    if not args.file.is_file():
        return fail(f"{args.file}: no such file")
    engine = open_db()
    try:
        result: spreadsheets.ImportResult = getattr(spreadsheets, importer_name)(engine, args.file, os_user())
    finally:
        engine.dispose()
    if args.json:
        print_json(result.as_json())
    else:
        print(f"{result.kind}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged, "
              f"{result.refused} refused")
        for row, reason in result.errors:
            print(f"  row {row}: {reason}")
        if result.refused > len(result.errors):
            print(f"  ... and {result.refused - len(result.errors)} more rows refused")
        if result.file_error:
            print(f"  {args.file}: {result.file_error} (the rows before were imported)")
    return 0 if result.ok else 1
