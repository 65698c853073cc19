"""What ``figures`` and ``devices`` share: the cut-off date argument, and the figures as of it from the database."""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.services.figures import Figures


def cut_off_date(text: str) -> date:
    """An ``--as-of`` value: an ISO date within the days the API and the console also accept (``server.bounds``)."""
    from server.bounds import EARLIEST_DAY, LATEST_DAY, day_problem

    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    if day_problem(day) is not None:
        raise argparse.ArgumentTypeError(f"{text} is outside {EARLIEST_DAY.isoformat()}..{LATEST_DAY.isoformat()}")
    return day


def add_scope(parser: argparse.ArgumentParser) -> None:
    """``--unit`` and ``--as-of``, as every figure-showing command takes them."""
    parser.add_argument("--unit", default=None, metavar="CODE", help="only this unit and its sub-units")
    parser.add_argument("--as-of", type=cut_off_date, default=None, metavar="YYYY-MM-DD",
                        help="state at the end of this day (default: today in the district's time zone)")


def compute(as_of: date | None, unit_code: str | None) -> Figures:
    """The figures of the scope at the end of ``as_of`` (default: the district's today), with the settings'
    policy and zone, from the database the environment names; ``UnknownUnit`` for an unknown unit."""
    from server.clock import local_today
    from server.config import Settings
    from server.db import open_database, reading
    from server.services.figures import figures_as_of
    from server.services.policy import Policy

    settings = Settings.from_env()
    engine = open_database(settings.url)
    try:
        with reading(engine) as session:
            return figures_as_of(session, as_of or local_today(settings.tz), unit_code,
                                 policy=Policy.from_settings(settings), tz=settings.tz)
    finally:
        engine.dispose()
