"""The policy: built from the server settings, refusing nonsense, ending a day at local midnight."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from server.config import Settings
from server.services.policy import Policy

pytestmark = pytest.mark.dates  # cut-off days end at local midnight: run again under another TZ


def test_policy_from_settings() -> None:
    settings = Settings(service_life_years=6, signature_max_age_days=3, stale_after_days=14,
                        builtin_av_licensed=False, timezone="UTC")
    policy = Policy.from_settings(settings)
    assert (policy.service_life_years, policy.signature_max_age_days, policy.stale_after_days,
            policy.builtin_av_licensed, policy.timezone) == (6, 3, 14, False, "UTC")


def test_defaults_are_the_district_rules() -> None:
    policy = Policy()
    assert (policy.service_life_years, policy.signature_max_age_days, policy.stale_after_days,
            policy.builtin_av_licensed, policy.forecast_years) == (5, 7, 30, True, 3)
    assert policy.budget_year(date(2024, 12, 31)) == 2024


def test_a_day_ends_at_local_midnight() -> None:
    assert Policy().end_of_day(date(2024, 5, 18)) == datetime(2024, 5, 18, 17, tzinfo=timezone.utc)
    assert Policy(timezone="UTC").end_of_day(date(2024, 5, 18)) == datetime(2024, 5, 19, tzinfo=timezone.utc)


@pytest.mark.parametrize("bad", [{"service_life_years": 0}, {"stale_after_days": -1}, {"forecast_years": -1}])
def test_nonsense_is_refused(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        Policy(**bad)  # type: ignore[arg-type]
