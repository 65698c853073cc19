"""Replacement forecast: how many devices reach the end of their service life in each coming budget year.

Years run from the budget year of the cut-off date (its remainder: devices already past their life are in
the limitation figure, not here) through ``policy.forecast_years`` further years, every year present even when
nothing falls due. Counts are per device's own unit, so summing a year's units gives the total. Devices in use
only; a device whose age is unknown cannot be forecast and is left out (the limitation figure counts it).

Licence renewals (``licence_renewals``) cover the same years: each register licence counts its seats in the
budget year its validity ends (under its unit, or ``*`` for a district-wide licence); each computer licensed by
its product's own key alone (no register seat) counts one seat of that product in its unit in the year the key
ends, and a key already expired counts in the first year (it is due now). Trial keys are purchases, not renewals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from server.services.age import end_of_service
from server.services.figure import Assessment
from server.services.licences import LicenceReport, holds_seats
from server.services.policy import Policy
from server.services.state import DeviceState, Snapshot

#: The unit key of a licence bought for the whole district.
DISTRICT_WIDE = "*"


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


def licence_renewals(
    snapshot: Snapshot, licensing: LicenceReport, scope: set[str] | None, policy: Policy
) -> dict[int, dict[str, dict[str, int]]]:
    """Budget year -> unit code (``*`` district-wide) -> product -> seats whose licence ends that year.

    ``scope``: the unit codes to count (None: the whole tree, district-wide licences included).
    """
    years = forecast_years(snapshot.as_of, policy)
    out: dict[int, dict[str, dict[str, int]]] = {year: {} for year in years}

    def add(day: date, unit: str, product: str, seats: int) -> None:
        year = max(policy.budget_year(day), years[0])
        if year <= years[-1] and seats > 0:
            per_product = out[year].setdefault(unit, {})
            per_product[product] = per_product.get(product, 0) + seats

    for licence in snapshot.licences:
        unit = licence.unit_code or DISTRICT_WIDE
        inside = licence.unit_code in scope if scope is not None and licence.unit_code else scope is None
        if licence.valid_to is not None and licence.valid_to >= snapshot.as_of and inside:
            add(licence.valid_to, unit, licence.product, licence.seats)
    for device in snapshot.devices:
        if (scope is not None and device.unit_code not in scope) or not holds_seats(device):
            continue
        verdict = licensing.for_device(device.id)
        for product in device.antivirus:
            own_key = verdict.evidence.get(product.name) == "product" and product.name not in verdict.seats
            if own_key and product.licence_expires is not None and product.licence_type != "trial":
                add(product.licence_expires, device.unit_code, product.name, 1)
    return {year: units for year, units in out.items()}
