"""How old a device is, how we know, and whether it has used up its service life.

Evidence, best first:
1. the purchase date from the officer's records (``purchase_record``, recorded);
2. the earliest BIOS date ever seen for the device (``firmware``, estimated), unless it cannot be the date the
   board shipped with: more than ``policy.bios_after_cpu_tolerance_years`` after the CPU's launch year (an
   updated BIOS; a Haswell i5-4590 from 2014 does not ship in 2021) or more than a year before it;
3. the CPU's launch year (``cpu_generation``, estimated), taken as the middle of that year;
4. the OS install date (``os_install``, estimated), only when nothing above is known, because a reinstall
   makes any machine look new;
5. for monitors, the EDID year of manufacture (``edid``, estimated);
otherwise the age is ``unknown``: shown as such, never counted as past its service life. A virtual machine has
no physical age: its firmware and CPU are the hypervisor's.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import MAXYEAR, date
from functools import lru_cache
from typing import NamedTuple

from server.services.cpu_generations import launch_year
from server.services.figure import AgeSource
from server.services.policy import Policy
from server.services.state import DeviceState

#: A launch or manufacture year stands for the middle of that year: off by at most six months either way.
MID_YEAR = (7, 1)
#: Firmware dates outside these bounds are clock garbage (unset RTC, vendor placeholder), not evidence.
EARLIEST_PLAUSIBLE_FIRMWARE = date(1995, 1, 1)


class AgeAssessment(NamedTuple):
    """The age verdict for one device as of a date."""

    in_service_date: date | None
    age_years: float | None
    source: AgeSource
    estimated: bool
    past_service_life: bool


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or that month's last day when it is shorter (31 March + 1 = 30 April)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    if year > MAXYEAR:  # a mistyped purchase year must not crash the figures
        return date.max
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February in a common year."""
    return add_months(day, years * 12)


def end_of_service(in_service: date, policy: Policy) -> date:
    """The day a device in service since ``in_service`` reaches its service life (fractions in whole months)."""
    return _end_of_service(in_service, round(policy.service_life_years * 12))


@lru_cache(maxsize=16384)  # a fleet shares few in-service days (mid-year estimates, BIOS release dates)
def _end_of_service(in_service: date, months: int) -> date:
    return add_months(in_service, months)


def _mid_year(year: int) -> date:
    return date(year, *MID_YEAR)


def _firmware_date(device: DeviceState, as_of: date) -> date | None:
    bios = device.earliest_bios_date or device.bios_date
    if bios is None or not EARLIEST_PLAUSIBLE_FIRMWARE <= bios <= as_of:
        return None
    return bios


def _evidence(device: DeviceState, as_of: date, policy: Policy) -> tuple[date | None, AgeSource]:
    if device.purchased_on is not None:
        return device.purchased_on, "purchase_record"
    if device.chassis == "virtual":  # a virtual machine's BIOS date is its hypervisor's (SeaBIOS says 2014)
        return None, "unknown"
    if device.kind == "monitor":
        if device.monitor_year is not None:
            return _mid_year(device.monitor_year), "edid"
        return None, "unknown"
    cpu_year = launch_year(device.cpu_model)
    bios = _firmware_date(device, as_of)
    if bios is not None and (
        cpu_year is None or cpu_year - 1 <= bios.year <= cpu_year + policy.bios_after_cpu_tolerance_years
    ):
        return bios, "firmware"
    if cpu_year is not None:
        return _mid_year(cpu_year), "cpu_generation"
    if device.os_install_date is not None and device.os_install_date <= as_of:
        return device.os_install_date, "os_install"
    return None, "unknown"


def assess_age(device: DeviceState, as_of: date, policy: Policy) -> AgeAssessment:
    """Age of ``device`` at the end of ``as_of`` with its source, and whether it is past the service life."""
    in_service, source = _evidence(device, as_of, policy)
    if in_service is None:
        return AgeAssessment(None, None, "unknown", False, False)
    age = max(0.0, round((as_of - in_service).days / 365.25, 2))
    past = end_of_service(in_service, policy) <= as_of
    return AgeAssessment(in_service, age, source, source != "purchase_record", past)
