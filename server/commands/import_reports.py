"""``kiemke-server import [--unit CODE] FILE...``: reports carried from air-gapped PCs (bundles, report files).

Each file is reported on its own: a bad file is one error line (never a traceback) and the others are still
imported; the exit code is 1 when anything was refused.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.commands._common import add_json

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from server.services.report_files import FileResult


def register(sub: Any) -> None:
    """Add the ``import`` sub-command."""
    parser = sub.add_parser("import", help="import signed bundles or report files carried from air-gapped PCs")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="bundle or report files, or directories")
    parser.add_argument("--unit", help="unit of the PC, required for unsigned report files")
    add_json(parser)
    parser.set_defaults(handler=run)


def _import_one(engine: Engine, path: Path, unit: str | None, actor: str) -> FileResult:
    """One file's result; an unforeseen error refuses that file with its message instead of ending the run."""
    from server.services.report_files import FileResult, import_file

    try:
        return import_file(engine, path, unit_code=unit, actor=actor)
    except Exception as exc:  # one file's failure must not hide the others' results, nor show a traceback
        return FileResult(str(path), refused=1, problems=[f"not imported: {type(exc).__name__}: {exc}"])


def run(args: argparse.Namespace) -> int:
    """Import every file; exit 1 when anything was refused."""
    from server.commands._common import open_db, print_json
    from server.services.records import os_user
    from server.services.report_files import expand

    engine = open_db()
    actor = os_user()
    try:
        results = [_import_one(engine, path, args.unit, actor) for path in expand(args.files)]
    finally:
        engine.dispose()
    totals = {key: sum(getattr(r, key) for r in results) for key in ("imported", "duplicate", "refused")}
    if args.json:
        print_json({"files": [r.as_json() for r in results], **totals})
    else:
        for r in results:
            how = "signed bundle" if r.signed else "unsigned file"
            print(f"{r.path}: {r.imported} imported, {r.duplicate} already had, {r.refused} refused ({how})")
            for problem in r.problems:
                print(f"  refused: {problem}")
        print(f"total: {totals['imported']} imported, {totals['duplicate']} already had, {totals['refused']} refused")
    return 1 if totals["refused"] else 0
