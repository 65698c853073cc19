"""``kiemke-agent collect``: one collection, shown as tables, printed as JSON or written to a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``collect``."""
    parser = subparsers.add_parser("collect", help="collect this PC's inventory (or a captured folder's) and show it")
    parser.add_argument("--json", action="store_true", help="print the report as JSON for machines")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write the report as JSON to FILE")
    parser.add_argument("--replay", type=Path, metavar="DIR", help="build the report from a `capture` folder")
    parser.add_argument("--target", action="append", default=[], metavar="HOST:PORT|URL",
                        help="extra connectivity target (repeatable), e.g. the server's URL")
    parser.add_argument("--public-target", metavar="HOST:PORT",
                        help="public connectivity target (default: $KIEMKE_PUBLIC_TARGET or 1.1.1.1:443; 'none' skips)")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="the agent's data folder, where a generated machine id is kept when the OS has none "
                        "(default: $KIEMKE_AGENT_DIR, else the OS location, as for the service)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="kill a hung probe after this long (default 60)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Collect and show; 0 when a report was made, 2 with a one-line reason when none could be."""
    from agent.collect import DEFAULT_TIMEOUT, CollectError, collect_report
    from agent.config import resolve_data_dir  # the service's search order, so both find the same id
    from agent.connectivity import CONFIGURED, Configured, parse_public_target

    public: str | Configured | None = CONFIGURED
    if args.public_target is not None:
        public = parse_public_target(args.public_target)
    try:
        report = collect_report(
            replay=args.replay,
            targets=args.target,
            data_dir=resolve_data_dir(args.data_dir),
            timeout=args.timeout or DEFAULT_TIMEOUT,
            public_target=public,
        )
    except CollectError as exc:
        print(f"kiemke-agent collect: no report: {exc}", file=sys.stderr)
        return 2
    text = report.model_dump_json(indent=2)
    if args.out is not None:
        try:
            args.out.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"kiemke-agent collect: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
            return 2
    if args.json:
        sys.stdout.write(text + "\n")
    elif args.out is not None:
        print(f"report written to {args.out} ({len(report.errors)} facts not collected)", file=sys.stderr)
    else:
        from agent.render import print_report

        print_report(report)
    return 0
