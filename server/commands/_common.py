"""What the sub-commands share: the database opened (and migrated) on first use, JSON and rich output."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from shared.text import clean_text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from server.config import Settings


def settings() -> Settings:
    """The server's settings from the environment (``kiemke-server`` reports a refused one and exits)."""
    from server.config import Settings

    return Settings.from_env()


def open_db() -> Engine:
    """The configured database, created or upgraded to the latest schema."""
    from server.db import open_database

    return open_database(settings().url)


def add_json(parser: argparse.ArgumentParser) -> None:
    """The ``--json`` twin of a printing command."""
    parser.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")


def print_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def fail(message: str, code: int = 2) -> int:
    """Print an error for a person on stderr; returns the exit code."""
    print(f"kiemke-server: {message}", file=sys.stderr)
    return code


def terminal() -> Console:
    """The console that prints tables: names come from agents and spreadsheets, so no markup, no highlighting."""
    from rich.console import Console

    return Console(markup=False, highlight=False)


def text_table(title: str) -> Table:
    """A rich table whose text cells pass ``clean_text``: an escape sequence in a host name never reaches the
    terminal (it could recolour, move the cursor or retitle the admin's window)."""
    from rich.table import Table

    class TextTable(Table):
        def add_row(self, *renderables: Any, **kwargs: Any) -> None:
            super().add_row(*(clean_text(r) if isinstance(r, str) else r for r in renderables), **kwargs)

    return TextTable(title=clean_text(title))
