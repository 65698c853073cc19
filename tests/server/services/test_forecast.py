"""Replacement forecast: devices reaching their service life per budget year and unit."""

from __future__ import annotations

from datetime import date

from server.services.age import assess_age
from server.services.figure import Assessment
from server.services.forecast import forecast_years, replacement_forecast
from server.services.policy import Policy
from server.services.state import DeviceState
from tests.server.services.state_factories import AS_OF, asset

POLICY = Policy()


def assessed(devices: list[DeviceState], policy: Policy = POLICY) -> dict[int, Assessment]:
    out = {}
    for device in devices:
        age = assess_age(device, AS_OF, policy)
        out[device.id] = Assessment(device.id, age.in_service_date, age.age_years, age.source, age.estimated,
                                    age.past_service_life)
    return out


def test_years_are_the_cut_off_year_and_the_next_ones() -> None:
    assert forecast_years(AS_OF, POLICY) == [2024, 2025, 2026, 2027]
    assert forecast_years(AS_OF, Policy(forecast_years=1)) == [2024, 2025]


def test_devices_fall_due_in_their_year_per_unit() -> None:
    devices = [
        asset(1, "P1", "printer", purchased_on=date(2019, 12, 31)),  # due 2024-12-31
        asset(2, "P1", "desktop", purchased_on=date(2020, 1, 1)),  # due 2025-01-01
        asset(3, "X1", "scanner", purchased_on=date(2020, 6, 1)),
        asset(4, "X1", "camera", purchased_on=date(2022, 12, 1)),  # due 2027
        asset(5, "X1", "camera", purchased_on=date(2023, 1, 1)),  # due 2028: beyond the forecast
    ]
    forecast = replacement_forecast(devices, assessed(devices), AS_OF, POLICY)
    assert forecast == {2024: {"P1": 1}, 2025: {"P1": 1, "X1": 1}, 2026: {}, 2027: {"X1": 1}}


def test_past_unknown_and_unused_devices_are_not_forecast() -> None:
    devices = [
        asset(1, "P1", "printer", purchased_on=date(2019, 5, 18)),  # due on the cut-off day: already past
        asset(2, "P1", "printer"),  # age unknown
        asset(3, "P1", "printer", purchased_on=date(2021, 1, 1), status="retired"),
        asset(4, "P1", "printer", purchased_on=date(2021, 1, 1), status="spare"),
        asset(5, "P1", "printer", purchased_on=date(2019, 5, 19)),  # due the day after the cut-off
    ]
    forecast = replacement_forecast(devices, assessed(devices), AS_OF, POLICY)
    assert forecast == {2024: {"P1": 1}, 2025: {}, 2026: {}, 2027: {}}


def test_longer_service_life_moves_devices_out_of_the_forecast() -> None:
    devices = [asset(1, "P1", "printer", purchased_on=date(2020, 6, 1))]
    policy = Policy(service_life_years=8)
    assert replacement_forecast(devices, assessed(devices, policy), AS_OF, policy) == {
        2024: {}, 2025: {}, 2026: {}, 2027: {}}
