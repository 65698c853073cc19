"""Licence seats: matching by name, unit scope, validity dates, oldest-first seats, built-in and free products."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from server.services.licences import LicenceReport, assess_licences, covers
from server.services.policy import Policy
from server.services.state import DeviceState, LicenceState
from server.services.unit_tree import UnitTree
from tests.server.services.state_factories import AS_OF, at, av, pc, unit

KES = "Kaspersky Endpoint Security 11 for Windows"
TREE = UnitTree([
    unit("D", "district", None), unit("P1"), unit("X1", "commune"), unit("S1", "school", "X1"),
])


def kaspersky_pc(
    device_id: int, unit_code: str = "P1", installed: date = date(2024, 1, 2), **facts: object
) -> DeviceState:
    return pc(device_id, unit_code, antivirus=(av(KES),), first_seen=at(installed), **facts)


def licence(licence_id: int, seats: int, unit_code: str | None = None, product: str = "Kaspersky Endpoint Security",
            valid_from: date | None = date(2024, 1, 1), valid_to: date | None = date(2024, 12, 31)) -> LicenceState:
    return LicenceState(licence_id, product, seats, valid_from, valid_to, unit_code)


def judge(devices: list[DeviceState], licences: list[LicenceState], policy: Policy | None = None) -> LicenceReport:
    return assess_licences(devices, TREE, licences, AS_OF, policy or Policy())


def test_licence_name_covers_product_name_case_insensitively_as_whole_words() -> None:
    assert covers("Kaspersky Endpoint Security", KES)
    assert covers("kaspersky endpoint  security", "KASPERSKY ENDPOINT SECURITY 12")
    assert covers("Bkav Pro", "Bkav Pro Internet Security")
    assert not covers("Bkav Pro", "Bkav Professional")
    assert not covers("Kaspersky Endpoint Security", "Kaspersky Free")
    assert not covers("", KES)


def test_seats_within_the_licence_are_licensed_and_counted_per_unit() -> None:
    report = judge([kaspersky_pc(1), kaspersky_pc(2, "S1")], [licence(1, seats=5)])
    assert all(KES in report.for_device(i).licensed for i in (1, 2))
    use = report.licences[0]
    assert (use.used, use.wanted, use.by_unit, use.overused) == (2, 2, {"P1": 1, "S1": 1}, False)
    assert report.for_device(1).seats == {KES: 1}


def test_over_used_licence_leaves_the_latest_installations_unlicensed() -> None:
    devices = [
        kaspersky_pc(1, installed=date(2024, 3, 1)),
        kaspersky_pc(2, installed=date(2023, 6, 1)),
        kaspersky_pc(3, installed=date(2024, 5, 1)),
        kaspersky_pc(4, installed=date(2023, 6, 1)),
    ]
    report = judge(devices, [licence(1, seats=2)])
    assert {i for i in range(1, 5) if report.for_device(i).licensed} == {2, 4}
    assert report.for_device(3).problems == {KES: "licence_overused:Kaspersky Endpoint Security 4/2"}
    assert report.for_device(1).problems == {KES: "licence_overused:Kaspersky Endpoint Security 4/2"}
    assert report.licences[0].overused


def test_expired_licence_makes_its_computers_unlicensed() -> None:
    report = judge([kaspersky_pc(1)], [licence(1, seats=10, valid_to=date(2023, 12, 31))])
    assert report.for_device(1).licensed == frozenset()
    assert report.for_device(1).problems == {KES: "licence_expired:Kaspersky Endpoint Security"}


def test_licence_valid_on_its_last_day_and_not_before_its_first() -> None:
    assert judge([kaspersky_pc(1)], [licence(1, 1, valid_to=AS_OF)]).for_device(1).licensed
    later = judge([kaspersky_pc(1)], [licence(1, 1, valid_from=date(2024, 6, 1))])
    assert later.for_device(1).problems == {KES: "licence_not_yet_valid:Kaspersky Endpoint Security"}


def test_no_licence_record_at_all() -> None:
    report = judge([pc(1, antivirus=(av("Bkav Pro"),))], [licence(1, seats=10)])
    assert report.for_device(1).problems == {"Bkav Pro": "no_licence:Bkav Pro"}


def test_unit_licence_serves_its_subtree_only() -> None:
    report = judge([kaspersky_pc(1, "S1"), kaspersky_pc(2, "P1")], [licence(1, seats=5, unit_code="X1")])
    assert report.for_device(1).licensed and not report.for_device(2).licensed
    assert report.for_device(2).problems == {KES: "no_licence:" + KES}


def test_own_unit_licence_is_used_before_the_district_one() -> None:
    district, commune = licence(1, seats=1), licence(2, seats=1, unit_code="X1")
    report = judge([kaspersky_pc(1, "S1"), kaspersky_pc(2, "P1")], [district, commune])
    assert report.for_device(1).seats == {KES: 2}
    assert report.for_device(2).seats == {KES: 1}


def test_full_unit_licence_falls_back_to_the_district_licence() -> None:
    devices = [kaspersky_pc(1, "X1", installed=date(2023, 1, 1)), kaspersky_pc(2, "X1", installed=date(2023, 2, 1))]
    report = judge(devices, [licence(1, seats=5), licence(2, seats=1, unit_code="X1")])
    assert (report.for_device(1).seats, report.for_device(2).seats) == ({KES: 2}, {KES: 1})


def test_builtin_antivirus_is_licensed_by_policy() -> None:
    devices = [pc(1, antivirus=(av("Windows Defender"),)), pc(2, antivirus=(av("XProtect", source="xprotect"),))]
    assert all(judge(devices, []).for_device(i).licensed for i in (1, 2))
    strict = judge(devices, [], Policy(builtin_av_licensed=False))
    assert strict.for_device(1).problems == {"Windows Defender": "no_licence:Windows Defender"}


def test_free_software_antivirus_needs_no_licence() -> None:
    report = judge([pc(1, antivirus=(av("ClamAV 1.0.5", source="clamav"),))], [])
    assert report.for_device(1).licensed == frozenset({"ClamAV 1.0.5"})


def test_product_reporting_a_licence_problem_is_unlicensed_and_takes_no_seat() -> None:
    cracked = pc(1, antivirus=(av(KES, licence_problem=True),))
    report = judge([cracked, kaspersky_pc(2)], [licence(1, seats=1)])
    assert report.for_device(1).problems == {KES: f"licence_problem:{KES}"}
    assert report.for_device(2).licensed
    assert report.licences[0].used == 1


def test_only_computers_in_use_with_an_agent_hold_seats() -> None:
    devices = [kaspersky_pc(1, status="retired"), kaspersky_pc(2, status="spare"), kaspersky_pc(3)]
    report = judge(devices, [licence(1, seats=1)])
    assert set(report.devices) == {3} and report.licences[0].used == 1


def test_disabled_product_still_holds_its_seat() -> None:
    devices = [pc(1, antivirus=(av(KES, enabled=False),), first_seen=at(date(2023, 1, 1))), kaspersky_pc(2)]
    report = judge(devices, [licence(1, seats=1)])
    assert report.for_device(1).seats == {KES: 1}
    assert not report.for_device(2).licensed


def _own(licence_type: str | None, expires: date | None, **facts: object) -> DeviceState:
    product = replace(av(KES), licence_type=licence_type, licence_expires=expires)
    return pc(1, antivirus=(product,), **facts)


def test_a_trial_or_expired_key_is_unlicensed_whatever_the_register_says() -> None:
    register = [licence(1, seats=10)]
    trial = judge([_own("trial", date(2024, 6, 1))], register).for_device(1)
    assert (trial.licensed, trial.problems, trial.evidence) == (
        frozenset(), {KES: f"licence_trial:{KES}"}, {KES: "product"})
    expired = judge([_own("commercial", date(2024, 5, 17))], register).for_device(1)
    assert (expired.licensed, expired.problems) == (frozenset(), {KES: f"product_licence_expired:{KES}"})


def test_a_valid_key_of_the_product_licenses_without_a_register_and_says_when_it_ends() -> None:
    alone = judge([_own("commercial", date(2024, 5, 18))], []).for_device(1)  # its last day is the cut-off day
    assert (alone.licensed, alone.evidence, alone.ends, alone.seats) == (
        frozenset({KES}), {KES: "product"}, {KES: date(2024, 5, 18)}, {})
    # With a register it still takes a seat, so that the register's seat counts stay true.
    with_register = judge([_own(None, date(2025, 1, 1))], [licence(1, seats=1)])
    assert with_register.for_device(1).seats == {KES: 1} and with_register.licences[0].used == 1


def test_evidence_without_the_products_word() -> None:
    by_register = judge([kaspersky_pc(1)], [licence(1, seats=1)]).for_device(1)
    assert (by_register.evidence, by_register.ends) == ({KES: "register"}, {KES: date(2024, 12, 31)})
    flagged = pc(2, antivirus=(av(KES, licence_problem=True),))
    assert judge([flagged], [licence(1, seats=1)]).for_device(2).evidence == {KES: "security_center"}
    builtin = judge([pc(3)], []).for_device(3)
    assert builtin.evidence == {"Windows Defender": "builtin"} and builtin.ends == {}
