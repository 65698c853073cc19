"""The district's "today": every date computed or shown for a person is in ``KIEMKE_TIMEZONE``.

A cut-off day ends at local midnight (17:00 UTC in Asia/Ho_Chi_Minh), whatever the machine's own zone.
Use these instead of the machine's own date or a naive "now" anywhere in the server.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache


def utcnow() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(timezone.utc)


def local_now(tz: tzinfo) -> datetime:
    """The current time in the district's zone."""
    return utcnow().astimezone(tz)


def local_today(tz: tzinfo) -> date:
    """Today's date in the district's zone (not the machine's)."""
    return local_now(tz).date()


def local_date(value: datetime, tz: tzinfo) -> date:
    """The district's date of an instant (an import at 05:21 local on 02/12 is dated 02/12)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(tz).date()


@lru_cache(maxsize=512)  # called once per device and judgement; the zone arithmetic is not free
def end_of_day(day: date, tz: tzinfo) -> datetime:
    """The first instant after ``day`` in the district's zone, as aware UTC: what "as of the end of" means."""
    following = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return following.astimezone(timezone.utc)


def local_minute(value: datetime | None, tz: tzinfo) -> str:
    """``2026-12-02 05:21`` in the district's zone (empty for none): how tables show a moment to people."""
    if value is None:
        return ""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    return f"{aware.astimezone(tz):%Y-%m-%d %H:%M}"
