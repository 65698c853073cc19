"""``kiemke-server report``: the report section as of a cut-off date, ready to paste into the district report."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def register(subparsers: Any) -> None:
    """Add the ``report`` sub-command."""
    parser = subparsers.add_parser(
        "report",
        help="write the infrastructure, security and limitations sections as of a date",
        description="Write sections II.6, II.8 and III.2 of the digital transformation report, with a per-unit "
        "annex, from the inventory as it stood at the end of the cut-off date.",
    )
    parser.add_argument("--as-of", type=_date, default=None, metavar="YYYY-MM-DD",
                        help="cut-off date (default: today in the district's time zone)")
    parser.add_argument("--period", default=None, metavar="LABEL",
                        help="period printed in the title, e.g. '06 tháng đầu năm 2024' (default: from the date)")
    parser.add_argument("--unit", default=None, metavar="CODE", help="only this unit and its sub-units")
    parser.add_argument("--lang", choices=("vi", "en"), default="vi", help="language (default: vi)")
    parser.add_argument("--format", choices=("md", "docx", "json", "txt"), default="md", dest="fmt",
                        help="md (default), docx, json or txt")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="write to FILE instead of standard output (required for docx)")
    parser.add_argument("--items", nargs="?", const="all", default=None, metavar="KEYS",
                        help="add an annex listing the devices or units behind each figure, or only behind the "
                        "comma-separated figure keys given (e.g. os_unsupported,agents_stale)")
    parser.add_argument("--compare-to", type=_date, default=None, metavar="YYYY-MM-DD",
                        help="previous cut-off to compare with (default: the latest kept report before --as-of)")
    parser.add_argument("--no-compare", action="store_true", help="do not compare with a previous period")
    parser.add_argument("--keep", action="store_true",
                        help="also keep this report in the database (listed in the console with its date)")
    parser.add_argument("--list", action="store_true", dest="list_kept",
                        help="list the kept reports (scheduled and --keep) with their cut-off dates, then stop")
    parser.add_argument("--kept", type=int, default=None, metavar="ID",
                        help="print a kept report exactly as it was generated (md, json or docx)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Generate the report; exit code 2 for a request that cannot be honoured."""
    if args.fmt == "docx" and args.out is None:
        print("kiemke-server report: --format docx needs --out FILE (a Word file cannot go to the terminal)",
              file=sys.stderr)
        return 2
    from server.clock import local_today
    from server.config import Settings
    from server.db import open_database, reading, writing
    from server.report import render
    from server.report.annex import item_keys
    from server.report.generate import ReportRequest, UnknownUnit, keep, make_report
    from server.services.policy import Policy

    settings = Settings.from_env()
    engine = open_database(settings.url)
    if args.list_kept:
        return _list_kept(engine, args.unit)
    if args.kept is not None:
        return _print_kept(engine, args)
    as_of = args.as_of or local_today(settings.tz)
    try:
        keys = item_keys(args.items) if args.items is not None else ()
    except ValueError as exc:
        print(f"kiemke-server report: --items: {exc}", file=sys.stderr)
        return 2
    request = ReportRequest(as_of=as_of, unit_code=args.unit, lang=args.lang, period=args.period, items=keys,
                            compare_to=args.compare_to, compare=not args.no_compare)
    try:
        with reading(engine) as session:
            document = make_report(session, request, Policy.from_settings(settings), settings.tz)
    except UnknownUnit as exc:
        print(f"kiemke-server report: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.keep:
        with writing(engine) as session:
            keep(session, document)
    _write(render(document, args.fmt), args.out, as_of)
    return 0


def _write(data: bytes, out: Path | None, as_of: date) -> None:
    if out is None:
        sys.stdout.write(data.decode())
        sys.stdout.flush()
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        print(f"{out}: {len(data)} bytes, figures as of {as_of.isoformat()}", file=sys.stderr)


def _list_kept(engine: Engine, unit: str | None) -> int:
    from server.db import reading
    from server.report.store import listing

    with reading(engine) as session:
        rows = listing(session, unit)
    if not rows:
        print("no kept report yet", file=sys.stderr)
    for row in rows:
        print(f"{row.id}\t{row.as_of.isoformat()}\t{row.period}\t{row.unit_code or '*'}\t{row.lang}\t{row.trigger}"
              f"\t{row.created_at.isoformat(timespec='seconds')}")
    return 0


def _print_kept(engine: Engine, args: argparse.Namespace) -> int:
    from server.db import reading
    from server.models import ReportSnapshot
    from server.report.store import kept_content

    if args.fmt == "txt":
        print("kiemke-server report: a kept report is kept as md, json and docx, not txt", file=sys.stderr)
        return 2
    with reading(engine) as session:
        row = session.get(ReportSnapshot, args.kept)
        if row is None:
            print(f"kiemke-server report: no kept report {args.kept} (see --list)", file=sys.stderr)
            return 2
        data = kept_content(row, args.fmt)
        as_of = row.as_of
    _write(data, args.out, as_of)
    return 0
