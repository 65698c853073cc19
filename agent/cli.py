"""``kiemke-agent``: the command line. Each sub-command lives in ``agent/commands/<name>.py``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable

from agent import __version__, commands

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command found in ``agent.commands``."""
    parser = argparse.ArgumentParser(prog="kiemke-agent", description="kiemke inventory agent")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code. Each sub-parser sets ``handler``."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)
