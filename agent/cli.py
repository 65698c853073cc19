"""``kiemke-agent``: the command line. Each sub-command lives in ``agent/commands/<name>.py``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable

from agent import __version__, commands

Handler = Callable[[argparse.Namespace], int]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every sub-command found in ``agent.commands`` (or just ``only``)."""
    parser = argparse.ArgumentParser(prog="kiemke-agent", description="kiemke inventory agent")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_") and only in (None, info.name):
            importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code. Each sub-parser sets ``handler``."""
    words = [w for w in (sys.argv[1:] if argv is None else argv) if not w.startswith("-")]
    # The agent runs on every PC: load only the command asked for (the top-level help loads them all).
    names = {m.name for m in pkgutil.iter_modules(commands.__path__)}
    only = words[0] if words and words[0] in names else None
    args = build_parser(only).parse_args(argv)
    handler: Handler = args.handler
    return handler(args)
