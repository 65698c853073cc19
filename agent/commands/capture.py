"""``kiemke-agent capture``: save this PC's raw outputs to a folder, for support or to replay anywhere."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``capture``."""
    parser = subparsers.add_parser("capture", help="save the raw outputs the agent reads on this PC")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write (created)")
    parser.add_argument("--target", action="append", default=[], metavar="HOST:PORT|URL",
                        help="connectivity target to check and record (repeatable)")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="kill a hung probe after this")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Capture; 0 when the folder was written."""
    from agent.capture import ReplayError, capture

    try:
        capture(args.out, targets=args.target, timeout=args.timeout)
    except (ReplayError, OSError) as exc:
        print(f"kiemke-agent capture: {exc}", file=sys.stderr)
        return 2
    print(f"captured to {args.out}; replay with: kiemke-agent collect --replay {args.out}", file=sys.stderr)
    return 0
