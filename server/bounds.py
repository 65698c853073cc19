"""What a cut-off date or a record id may be: the same bounds for the API, the console and the commands.

A date the calendar cannot extend by a day (9999-12-31) or an id the database cannot hold is refused with
a message where it is asked for (a 422, the console's error page, a command's usage error), never a crash.
"""

from __future__ import annotations

from datetime import date

#: Cut-off dates a report, page or command may ask for: before 2000 nothing was inventoried, and
#: 9999-12-31's day end is past the last instant a datetime holds.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(9999, 12, 30)
#: Ids are database integers (32-bit on PostgreSQL).
MAX_ID = 2**31 - 1


def day_problem(day: date) -> str | None:
    """Why a cut-off date is refused, or None."""
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        return f"the date must be between {EARLIEST_DAY} and {LATEST_DAY}, not {day}"
    return None
