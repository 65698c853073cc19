"""Replacement forecast: how many devices reach the end of their service life in each coming budget year.

Years run from the budget year of the cut-off date (its remainder: devices already past their life are in
the limitation figure, not here) through ``policy.forecast_years`` further years, every year present even when
nothing falls due. Counts are per device's own unit, so summing a year's units gives the total. Devices in use
only; a device whose age is unknown cannot be forecast and is left out (the limitation figure counts it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from server.services.age import end_of_service
from server.services.figure import Assessment
from server.services.policy import Policy
from server.services.state import DeviceState


def forecast_years(as_of: date, policy: Policy) -> list[int]:
    """The budget years a forecast covers, the cut-off date's own first."""
    first = policy.budget_year(as_of)
    return list(range(first, first + policy.forecast_years + 1))


def replacement_forecast(
    devices: Iterable[DeviceState], assessments: Mapping[int, Assessment], as_of: date, policy: Policy
) -> dict[int, dict[str, int]]:
    """Budget year -> unit code -> devices in use whose service life ends after ``as_of`` within that year."""
    years = forecast_years(as_of, policy)
    out: dict[int, dict[str, int]] = {year: {} for year in years}
    last = years[-1]
    for device in devices:
        if device.status != "in_use":
            continue
        assessment = assessments.get(device.id)
        if assessment is None or assessment.in_service_date is None or assessment.past_service_life:
            continue
        due = end_of_service(assessment.in_service_date, policy)
        year = policy.budget_year(due)
        if due > as_of and year <= last:
            per_unit = out[year]
            per_unit[device.unit_code] = per_unit.get(device.unit_code, 0) + 1
    return out
