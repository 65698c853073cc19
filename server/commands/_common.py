"""What the sub-commands share: the database opened (and migrated) on first use, JSON and rich output."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

if TYPE_CHECKING:
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
