"""The district's today at the hours where UTC and Asia/Ho_Chi_Minh disagree."""

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine

from server.clock import end_of_day, local_date, local_today

pytestmark = pytest.mark.dates  # cut-off days end at local midnight: run again under another TZ

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_today_turns_at_local_midnight_not_utc_midnight() -> None:
    with time_machine.travel(datetime(2026, 12, 1, 16, 59, tzinfo=timezone.utc), tick=False):
        assert local_today(HCM) == date(2026, 12, 1)
    with time_machine.travel(datetime(2026, 12, 1, 17, 1, tzinfo=timezone.utc), tick=False):
        assert local_today(HCM) == date(2026, 12, 2)


def test_an_instant_is_dated_in_the_district() -> None:
    assert local_date(datetime(2026, 12, 1, 22, 21, tzinfo=timezone.utc), HCM) == date(2026, 12, 2)
    assert local_date(datetime(2026, 12, 1, 22, 21), HCM) == date(2026, 12, 2)  # naive means UTC


def test_one_end_of_day_for_history_and_policy() -> None:
    from server.services.history import end_of_day as history_end
    from server.services.policy import Policy

    assert end_of_day(date(2026, 12, 1), HCM) == datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc)
    assert history_end(date(2026, 12, 1), HCM) == Policy().end_of_day(date(2026, 12, 1)) \
        == end_of_day(date(2026, 12, 1), HCM)
