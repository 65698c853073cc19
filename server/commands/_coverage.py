"""What ``figures`` and ``devices`` share: the cut-off date argument and the coverage computed as of it."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.services.figure import Coverage
    from server.services.policy import Policy
    from server.services.state import Snapshot


def cut_off_date(text: str) -> date:
    """An ``--as-of`` value: an ISO date."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_scope(parser: argparse.ArgumentParser) -> None:
    """``--unit`` and ``--as-of``, as every figure-showing command takes them."""
    parser.add_argument("--unit", default=None, metavar="CODE", help="only this unit and its sub-units")
    parser.add_argument("--as-of", type=cut_off_date, default=None, metavar="YYYY-MM-DD",
                        help="state at the end of this day (default: today in the district's time zone)")


@dataclass(frozen=True)
class Computed:
    """A snapshot and its coverage, with the policy that judged it."""

    snapshot: Snapshot
    coverage: Coverage
    policy: Policy
    tz: tzinfo  # the district's zone: dates shown to a person are local dates


def compute(as_of: date | None, unit_code: str | None) -> Computed:
    """Rebuild the state at the end of ``as_of`` and compute every figure; KeyError for an unknown unit.

    The whole tree is rebuilt even for one unit: licence seats are allotted across the district, so a unit's
    figures read the same as in the district's own figures.
    """
    from server.clock import local_today
    from server.config import Settings
    from server.db import open_database, reading
    from server.services.cutoff import coverage_as_of
    from server.services.policy import Policy

    settings = Settings.from_env()
    engine = open_database(settings.url)
    day = as_of or local_today(settings.tz)
    policy = Policy.from_settings(settings)
    try:
        with reading(engine) as session:
            snap, coverage = coverage_as_of(session, day, unit_code, policy, settings.tz)
    except KeyError:
        raise KeyError(f"unit {unit_code!r} is not in the inventory as of {day.isoformat()}") from None
    finally:
        engine.dispose()
    return Computed(snap, coverage, policy, settings.tz)
