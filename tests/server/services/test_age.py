"""Age evidence rules: purchase records first, the earliest BIOS unless the CPU proves it updated, then the CPU."""

from __future__ import annotations

from datetime import date

import pytest

from server.services.age import add_years, assess_age, end_of_service
from server.services.policy import Policy
from tests.server.services.state_factories import AS_OF, asset, pc

POLICY = Policy()
HASWELL = "Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz"  # launched 2014


def test_purchase_record_wins_over_every_estimate() -> None:
    device = pc(1, purchased_on=date(2020, 3, 1), cpu_model=HASWELL, earliest_bios_date=date(2014, 5, 2))
    result = assess_age(device, AS_OF, POLICY)
    assert (result.in_service_date, result.source, result.estimated) == (date(2020, 3, 1), "purchase_record", False)
    assert result.age_years == pytest.approx(4.21, abs=0.01)
    assert not result.past_service_life


def test_bios_date_consistent_with_the_cpu_is_the_estimate() -> None:
    device = pc(1, cpu_model=HASWELL, earliest_bios_date=date(2015, 2, 10), bios_date=date(2015, 2, 10))
    result = assess_age(device, AS_OF, POLICY)
    assert (result.in_service_date, result.source, result.estimated) == (date(2015, 2, 10), "firmware", True)
    assert result.past_service_life


def test_bios_updated_years_later_does_not_make_an_old_pc_young() -> None:
    # A Haswell desktop of 2014 whose BIOS was flashed in 2021 and whose agent only ever saw the new BIOS.
    device = pc(1, cpu_model=HASWELL, earliest_bios_date=date(2021, 6, 3), bios_date=date(2021, 6, 3))
    result = assess_age(device, AS_OF, POLICY)
    assert (result.in_service_date, result.source, result.estimated) == (date(2014, 7, 1), "cpu_generation", True)
    assert result.past_service_life
    assert result.age_years == pytest.approx(9.88, abs=0.01)


def test_earliest_bios_ever_seen_is_used_not_the_latest() -> None:
    device = pc(1, cpu_model=HASWELL, earliest_bios_date=date(2014, 9, 1), bios_date=date(2021, 6, 3))
    assert assess_age(device, AS_OF, POLICY).in_service_date == date(2014, 9, 1)


def test_bios_two_years_after_launch_is_still_believed() -> None:
    device = pc(1, cpu_model=HASWELL, earliest_bios_date=date(2016, 12, 31))
    assert assess_age(device, AS_OF, POLICY).source == "firmware"
    later = pc(1, cpu_model=HASWELL, earliest_bios_date=date(2017, 1, 1))
    assert assess_age(later, AS_OF, POLICY).source == "cpu_generation"


def test_bios_older_than_the_cpu_is_not_believed() -> None:
    device = pc(1, cpu_model="Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz", earliest_bios_date=date(2009, 1, 1))
    result = assess_age(device, AS_OF, POLICY)
    assert (result.in_service_date, result.source) == (date(2020, 7, 1), "cpu_generation")


def test_garbage_firmware_dates_are_ignored() -> None:
    future = pc(1, cpu_model=None, earliest_bios_date=date(2030, 1, 1), os_install_date=date(2019, 4, 2))
    assert assess_age(future, AS_OF, POLICY).source == "os_install"
    unset = pc(2, cpu_model=None, earliest_bios_date=date(1980, 1, 1), bios_date=None, os_install_date=None)
    assert assess_age(unset, AS_OF, POLICY).source == "unknown"


def test_bios_alone_when_the_cpu_is_unknown() -> None:
    device = pc(1, cpu_model="QEMU Virtual CPU version 2.5+", earliest_bios_date=date(2023, 4, 1))
    assert assess_age(device, AS_OF, POLICY).source == "firmware"


def test_cpu_generation_when_no_bios_date() -> None:
    device = pc(1, cpu_model=HASWELL, earliest_bios_date=None, bios_date=None, os_install_date=date(2023, 1, 5))
    result = assess_age(device, AS_OF, POLICY)
    # The OS install date (a reinstall in 2023) must not make a 2014 machine look a year old.
    assert (result.in_service_date, result.source) == (date(2014, 7, 1), "cpu_generation")


def test_os_install_date_is_the_last_resort() -> None:
    device = pc(1, cpu_model=None, earliest_bios_date=None, bios_date=None, os_install_date=date(2018, 11, 20))
    result = assess_age(device, AS_OF, POLICY)
    assert (result.in_service_date, result.source, result.estimated) == (date(2018, 11, 20), "os_install", True)
    assert result.past_service_life


def test_monitor_age_from_edid_year() -> None:
    monitor = asset(5, "P1", "monitor", monitor_year=2017)
    result = assess_age(monitor, AS_OF, POLICY)
    assert (result.in_service_date, result.source, result.estimated, result.past_service_life) == (
        date(2017, 7, 1), "edid", True, True)


def test_unknown_age_is_not_past_service_life() -> None:
    for device in (asset(6, "P1", "scanner"), asset(7, "P1", "monitor"), pc(8, cpu_model=None,
                   earliest_bios_date=None, bios_date=None)):
        result = assess_age(device, AS_OF, POLICY)
        assert result == (None, None, "unknown", False, False)


def test_service_life_ends_on_the_anniversary() -> None:
    on_day = asset(1, "P1", "printer", purchased_on=date(2019, 5, 18))
    day_after = asset(2, "P1", "printer", purchased_on=date(2019, 5, 19))
    assert assess_age(on_day, AS_OF, POLICY).past_service_life
    assert not assess_age(day_after, AS_OF, POLICY).past_service_life


def test_service_life_is_configurable() -> None:
    device = asset(1, "P1", "printer", purchased_on=date(2017, 1, 1))
    assert assess_age(device, AS_OF, Policy(service_life_years=5)).past_service_life
    assert not assess_age(device, AS_OF, Policy(service_life_years=8)).past_service_life
    assert end_of_service(date(2020, 1, 1), Policy(service_life_years=5.5)) == date(2025, 7, 1)
    assert end_of_service(date(2019, 8, 31), Policy(service_life_years=4.5)) == date(2024, 2, 29)


def test_purchase_after_the_cut_off_gives_age_zero() -> None:
    device = asset(1, "P1", "printer", purchased_on=date(2024, 6, 1))
    assert assess_age(device, AS_OF, POLICY).age_years == 0.0


def test_add_years_on_29_february() -> None:
    assert add_years(date(2020, 2, 29), 5) == date(2025, 2, 28)
    assert add_years(date(2020, 2, 29), 4) == date(2024, 2, 29)
    assert add_years(date(9998, 1, 1), 5) == date.max  # a mistyped year saturates instead of crashing


def test_virtual_machine_has_no_physical_age() -> None:
    vm = pc(1, kind="server", chassis="virtual", cpu_model="QEMU Virtual CPU version 2.5+",
            earliest_bios_date=date(2014, 4, 1))
    assert assess_age(vm, AS_OF, POLICY) == (None, None, "unknown", False, False)
