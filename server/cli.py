"""``kiemke-server``: the command line. Each sub-command lives in ``server/commands/<name>.py``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable

from server import __version__, commands

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command found in ``server.commands``."""
    parser = argparse.ArgumentParser(prog="kiemke-server", description="kiemke inventory server")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code. Each sub-parser sets ``handler``."""
    from server.config import ConfigError

    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as exc:  # a setting the server refuses: say which, no traceback
        print(f"kiemke-server: cannot start: {exc}", file=sys.stderr)
        return 2
