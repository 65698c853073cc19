"""Coverage figures on a hand-built district whose every number is worked out here by hand, plus invariants
under random snapshots: no share above 100%, and every numerator is exactly the list behind it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.config import Settings
from server.services.coverage import coverage_for
from server.services.figure import FIGURE_KEYS, Coverage, Figure
from server.services.policy import Policy
from server.services.state import DeviceState, LicenceState, Snapshot, UnitState
from tests.server.services.state_factories import AS_OF, asset, at, av, pc, unit

HASWELL = "Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz"
KES = "Kaspersky Endpoint Security 11 for Windows"

UNITS = (
    unit("D", "district", None),  # the People's Committee as a grouping: not a place itself
    unit("P1", staff=3, lan=True, wifi=True, wan=True, internet="fibre"),
    unit("P2", lan=True, wifi=False, internet="other"),  # no headcount entered
    unit("X1", "commune", staff=4, lan=True, wan=False, internet="fibre", one_stop_shop=True),
    unit("X2", "commune", staff=2, lan=False, wifi=False, wan=False, internet="none", one_stop_shop=True),
    unit("S1", "school", staff=10, lan=True, internet="fibre"),
)
DEVICES = (
    pc(1, "P1", purchased_on=date(2022, 3, 1)),
    # The BIOS-updated old PC: a 2014 Haswell whose agent only ever saw a 2021 BIOS.
    pc(2, "P1", cpu_model=HASWELL, earliest_bios_date=date(2021, 6, 3), antivirus=(av(KES),),
       first_seen=at(date(2023, 1, 1))),
    pc(3, "P1", antivirus=(av(KES),), os_name="Microsoft Windows 7 Professional", os_version="6.1.7601",
       firewall_enabled=False),
    pc(4, "P1", kind="laptop", status="retired"),
    asset(5, "P1", "scanner", purchased_on=date(2017, 2, 1)),
    pc(6, "P2", antivirus=(av("Bkav Pro", up_to_date=None, updated=date(2024, 5, 1)),)),
    asset(7, "P2", "desktop", purchased_on=date(2015, 1, 1)),
    pc(8, "X1", air_gapped=True, internet_reachable=False),
    pc(9, "X1", air_gapped=True, internet_reachable=True),
    asset(10, "X1", "printer"),
    asset(11, "X1", "photocopier"),
    asset(12, "X1", "scanner"),
    asset(13, "X1", "camera"),
    # Its last report shows an ethernet link with an address and a gateway: X2 entered "no LAN" by mistake.
    pc(14, "X2", delivered_offline=True, internet_reachable=None, last_seen=at(date(2024, 3, 1)),
       antivirus=(av(enabled=False),), lan_evidence=True, wifi_evidence=False),
    asset(15, "X2", "printer", purchased_on=date(2019, 5, 18)),
    pc(16, "S1", internet_reachable=None, antivirus=(), firewall_enabled=None, wifi_evidence=True),
    pc(17, "S1", internet_reachable=False, cpu_model=None, earliest_bios_date=None, bios_date=None,
       os_install_date=date(2020, 1, 1)),
    pc(18, "S1", kind="laptop", antivirus=(av(up_to_date=None, updated=None),), purchased_on=date(2019, 6, 30)),
)
LICENCES = (
    LicenceState(1, "Kaspersky Endpoint Security", 1, date(2024, 1, 1), date(2024, 12, 31)),
    LicenceState(2, "Bkav Pro", 50, date(2023, 1, 1), date(2023, 12, 31)),
)
SNAPSHOT = Snapshot(as_of=AS_OF, units=UNITS, devices=DEVICES, licences=LICENCES)


@pytest.fixture(scope="module")
def district() -> Coverage:
    return coverage_for(SNAPSHOT, Policy())


def share(fig: Figure) -> tuple[int, int, set[str | int]]:
    return fig.numerator, fig.denominator, set(fig.items)


def test_every_key_is_computed_for_the_scope_and_each_unit(district: Coverage) -> None:
    assert set(district.figures) == set(FIGURE_KEYS)
    assert set(district.per_unit) == {"D", "P1", "P2", "X1", "X2", "S1"}
    assert all(set(figs) == set(FIGURE_KEYS) for figs in district.per_unit.values())


def test_computer_and_agent_figures(district: Coverage) -> None:
    f = district.figures
    # Computers in use: 1, 2, 3, 6, 7, 8, 9, 14, 16, 17, 18 (4 is retired); 7 has no agent.
    assert share(f["computers_with_agent"]) == (10, 11, {1, 2, 3, 6, 8, 9, 14, 16, 17, 18})
    assert share(f["computers_air_gapped"]) == (3, 11, {8, 9, 14})
    assert share(f["air_gap_violations"]) == (1, 3, {9})
    # Over 1, 2, 3, 6, 16, 17, 18: the air-gapped 8, 9, 14 are left out, never "not connected".
    internet = f["computers_internet_connected"]
    assert share(internet) == (5, 7, {1, 2, 3, 6, 18})
    assert internet.detail == {"air_gapped": 3, "unknown": 1, "no_agent": 1}


def test_security_figures(district: Coverage) -> None:
    f = district.figures
    assert share(f["antivirus_installed"]) == (9, 10, {1, 2, 3, 6, 8, 9, 14, 17, 18})
    assert share(f["antivirus_enabled"]) == (8, 10, {1, 2, 3, 6, 8, 9, 17, 18})
    up_to_date = f["antivirus_up_to_date"]
    assert share(up_to_date) == (6, 10, {1, 2, 3, 8, 9, 17})
    assert up_to_date.detail == {"stale": 1, "unknown": 1}
    licensed = f["antivirus_licensed"]
    # 2 installed Kaspersky before 3 and holds the only seat; Bkav's licence expired at the end of 2023.
    assert share(licensed) == (6, 10, {1, 2, 8, 9, 17, 18})
    assert licensed.note == "licence_expired:Bkav Pro; licence_overused:Kaspersky Endpoint Security 2/1"
    # What each verdict rests on: Defender by policy on five, the register on three, no antivirus on on two.
    assert licensed.detail == {"licence_overused": 1, "licence_expired": 1, "builtin": 5, "register": 3, "none": 2}
    assert share(f["firewall_enabled"]) == (8, 10, {1, 2, 6, 8, 9, 14, 17, 18})
    assert share(f["os_unsupported"]) == (1, 10, {3})
    assert share(f["agents_stale"]) == (1, 10, {14})


def test_staff_figures_cap_each_unit_at_its_headcount(district: Coverage) -> None:
    f = district.figures
    # P1 3 of 3 (the retired laptop does not count), X1 2 of 4, X2 1 of 2, S1 3 of 10; P2 has no headcount.
    staff = f["computers_per_staff"]
    assert share(staff) == (9, 19, {1, 2, 3, 8, 9, 14, 16, 17, 18})
    assert staff.detail == {"units_without_staff": 1, "computers_without_staff": 2}
    assert staff.note == "no_staff"
    assert share(f["computers_per_staff:department"])[:2] == (3, 3)
    assert f["computers_per_staff:department"].note == "no_staff"
    assert share(f["computers_per_staff:commune"])[:2] == (3, 6)
    assert share(f["computers_per_staff:school"])[:2] == (3, 10)


def test_unit_figures_count_places_not_the_district_grouping(district: Coverage) -> None:
    f = district.figures
    assert share(f["units_with_scanner"]) == (2, 5, {"P1", "X1"})
    # LAN entered yes for P1, P2, X1, S1; X2 entered no, but its computer 14 shows one.
    lan = f["units_with_lan"]
    assert share(lan) == (5, 5, {"P1", "P2", "X1", "X2", "S1"})
    assert lan.detail == {"from_hand_entry": 4, "from_agents": 1, "hand_entry_contradicted": 1} and lan.note is None
    # Wi-Fi entered yes for P1 only; S1 left blank, but its computer 16 shows Wi-Fi; X1 stays unknown.
    wifi = f["units_with_wifi"]
    assert share(wifi) == (2, 5, {"P1", "S1"})
    assert wifi.detail == {"from_hand_entry": 1, "from_agents": 1, "unknown": 1} and wifi.note == "missing_data"
    assert share(f["units_with_wan"]) == (1, 5, {"P1"})
    assert share(f["units_with_fibre"]) == (3, 5, {"P1", "X1", "S1"})
    shops = f["one_stop_shops_equipped"]
    assert share(shops) == (1, 2, {"X1"})
    assert shops.detail == {"computer": 2, "printer": 2, "photocopier": 1, "scanner": 1, "camera": 1}


def test_service_life_figures(district: Coverage) -> None:
    past = district.figures["past_service_life"]
    # 17 devices in use; past: the Haswell PC (2014), the 2017 scanner, the 2015 desktop, the printer of
    # 18 May 2019 (five years on the cut-off day). Printer 10, photocopier, scanner 12, camera: age unknown.
    assert share(past) == (4, 17, {2, 5, 7, 15})
    assert past.detail == {"age_unknown": 4}
    assert district.oldest == (2, 7, 5, 15)
    assert district.assessments[2].age_source == "cpu_generation"
    assert district.assessments[17].age_source == "os_install"


def test_forecast_and_assessments(district: Coverage) -> None:
    assert district.forecast == {
        2024: {"S1": 1},  # 18: bought 30 June 2019
        2025: {"P1": 1, "P2": 1, "X1": 2, "X2": 1, "S1": 2},  # BIOS of September 2020; 17 installed 2020-01-01
        2026: {},
        2027: {"P1": 1},
    }
    assert district.assessments[9].issues == ("air_gap_violation",)
    assert district.assessments[3].issues == ("antivirus_unlicensed", "firewall_off", "os_unsupported")
    assert district.assessments[14].issues == ("antivirus_disabled", "not_seen_recently")
    assert district.assessments[7].issues == ("no_agent",)
    assert district.assessments[5].issues == ()


def test_a_unit_has_the_same_figures_whatever_the_scope(district: Coverage) -> None:
    for code in ("P1", "X1", "D"):
        scoped = coverage_for(SNAPSHOT, Policy(), code)
        assert scoped.figures == district.per_unit[code]
    x1 = coverage_for(SNAPSHOT, Policy(), "X1")
    assert set(x1.per_unit) == {"X1"} and set(x1.assessments) == {8, 9, 10, 11, 12, 13}
    assert share(x1.figures["one_stop_shops_equipped"]) == (1, 1, {"X1"})


def test_whole_tree_equals_the_sum_of_its_roots(district: Coverage) -> None:
    assert district.figures == district.per_unit["D"]


def test_unknown_unit_is_refused() -> None:
    with pytest.raises(KeyError):
        coverage_for(SNAPSHOT, Policy(), "NOPE")


def test_district_office_with_its_own_staff_is_a_place() -> None:
    units = (unit("D", "district", None, staff=5, lan=True),)
    cov = coverage_for(Snapshot(AS_OF, units, (pc(1, "D"),)), Policy())
    assert share(cov.figures["units_with_lan"]) == (1, 1, {"D"})
    assert share(cov.figures["computers_per_staff"]) == (1, 5, {1})


def test_network_evidence_counts_only_from_the_units_own_computers_in_use() -> None:
    units = (
        unit("D", "district", None),
        unit("A", wifi=False),  # its only Wi-Fi computer is retired: the "no" stands
        unit("B"),  # blank; a printer and a computer without evidence do not make a LAN
        unit("C", parent="B", lan=False),  # its child shows one: B does not, C does
    )
    devices = (
        pc(1, "A", status="retired", wifi_evidence=True, lan_evidence=True),
        pc(2, "B", lan_evidence=False, wifi_evidence=False),
        asset(3, "B", "printer", lan_evidence=True),
        pc(4, "C", kind="server", lan_evidence=True),
    )
    cov = coverage_for(Snapshot(as_of=AS_OF, units=units, devices=devices), Policy())
    lan, wifi = cov.figures["units_with_lan"], cov.figures["units_with_wifi"]
    assert share(lan) == (1, 3, {"C"})
    assert lan.detail == {"from_agents": 1, "hand_entry_contradicted": 1, "unknown": 2}
    assert share(wifi) == (0, 3, set()) and wifi.detail == {"unknown": 2}
    assert share(cov.per_unit["B"]["units_with_lan"]) == (1, 2, {"C"})


def test_no_agent_anywhere_is_said_not_shown_as_empty() -> None:
    cov = coverage_for(Snapshot(AS_OF, (unit("P1", parent=None),), (asset(1, "P1", "desktop"),)), Policy())
    installed = cov.figures["antivirus_installed"]
    assert (installed.denominator, installed.percent, installed.note) == (0, None, "no_agent")


def test_virtual_machines_are_computers_but_not_equipment() -> None:
    vm = pc(2, "P1", kind="server", chassis="virtual", earliest_bios_date=date(2014, 4, 1))
    cov = coverage_for(Snapshot(AS_OF, (unit("P1", parent=None),), (pc(1, "P1"), vm)), Policy())
    assert share(cov.figures["antivirus_installed"]) == (2, 2, {1, 2})
    assert share(cov.figures["past_service_life"]) == (0, 1, set())
    assert cov.figures["past_service_life"].detail == {}


def test_empty_snapshot_gives_empty_figures() -> None:
    cov = coverage_for(Snapshot(AS_OF), Policy())
    assert all(f.denominator == 0 and f.percent is None for f in cov.figures.values())


# --- Invariants under random snapshots ------------------------------------------------------------------------

CODES = ("A", "B", "C", "D", "E", "F")
maybe_bool = st.one_of(st.none(), st.booleans())


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    count = draw(st.integers(1, len(CODES)))
    units = []
    for i, code in enumerate(CODES[:count]):
        parent = draw(st.sampled_from((None, *CODES[:count]))) if i else None  # cycles and orphans allowed
        units.append(UnitState(
            code=code, name=code, kind=draw(st.sampled_from(("district", "department", "commune", "school", "other"))),
            parent_code=parent, staff=draw(st.one_of(st.none(), st.integers(-1, 6))), lan=draw(maybe_bool),
            wifi=draw(maybe_bool), wan=draw(maybe_bool),
            internet=draw(st.sampled_from((None, "fibre", "other", "none"))), one_stop_shop=draw(st.booleans()),
        ))
    products = st.sampled_from(("Windows Defender", KES, "Bkav Pro", "ClamAV"))
    antivirus = st.lists(st.builds(
        av, products, enabled=maybe_bool, up_to_date=maybe_bool,
        updated=st.one_of(st.none(), st.dates(date(2024, 4, 1), date(2024, 6, 1))), licence_problem=maybe_bool,
    ), max_size=2).map(tuple)
    devices = []
    for device_id in range(draw(st.integers(0, 25))):
        devices.append(DeviceState(
            id=device_id, unit_code=draw(st.sampled_from((*CODES[:count], "ORPHAN"))),
            kind=draw(st.sampled_from(("desktop", "laptop", "server", "printer", "scanner", "photocopier", "camera",
                                       "monitor"))),
            status=draw(st.sampled_from(("in_use", "in_use", "spare", "retired"))),
            air_gapped=draw(st.booleans()), purchased_on=draw(st.one_of(st.none(), st.dates(date(2010, 1, 1)))),
            has_agent=draw(st.booleans()), delivered_offline=draw(st.booleans()),
            first_seen=draw(st.one_of(st.none(), st.just(at(date(2023, 1, 1))))),
            last_seen=draw(st.one_of(st.none(), st.dates(date(2024, 1, 1), date(2024, 6, 1)).map(at))),
            cpu_model=draw(st.sampled_from((None, HASWELL, "AMD Ryzen 5 3500U", "Apple M2"))),
            earliest_bios_date=draw(st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2030, 1, 1)))),
            os_install_date=draw(st.one_of(st.none(), st.dates(date(2010, 1, 1), date(2025, 1, 1)))),
            os_name=draw(st.sampled_from((None, "Microsoft Windows 10 Pro", "Microsoft Windows 7", "Ubuntu"))),
            monitor_year=draw(st.one_of(st.none(), st.integers(1995, 2025))),
            antivirus=draw(antivirus), firewall_enabled=draw(maybe_bool), internet_reachable=draw(maybe_bool),
        ))
    licences = draw(st.lists(st.builds(
        LicenceState, st.integers(1, 5), st.sampled_from(("Kaspersky Endpoint Security", "Bkav Pro")),
        st.integers(0, 4), st.one_of(st.none(), st.just(date(2024, 1, 1))),
        st.one_of(st.none(), st.sampled_from((date(2023, 12, 31), date(2024, 12, 31)))),
        st.sampled_from((None, *CODES[:count])),
    ), max_size=3))
    return Snapshot(AS_OF, tuple(units), tuple(devices), tuple(licences))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots(), st.data())
def test_no_figure_above_100_percent_and_items_match_numerators(snapshot: Snapshot, data: st.DataObject) -> None:
    cov = coverage_for(snapshot, Policy())
    for figures in (cov.figures, *cov.per_unit.values()):
        assert set(figures) == set(FIGURE_KEYS)
        for fig in figures.values():
            assert 0 <= fig.numerator <= fig.denominator or fig.denominator == 0 == fig.numerator
            assert len(fig.items) == fig.numerator
            assert len(set(fig.items)) == len(fig.items)
            assert fig.percent is None or fig.percent <= 100
    if snapshot.units:
        code = data.draw(st.sampled_from([u.code for u in snapshot.units]))
        assert coverage_for(snapshot, Policy(), code).figures == cov.per_unit[code]


def test_licences_about_to_expire_follow_the_warning_days() -> None:
    kes = "Kaspersky Endpoint Security"

    def own(device_id: int, ends: date) -> DeviceState:
        return pc(device_id, "P1", antivirus=(replace(av(kes), licence_type="commercial", licence_expires=ends),))

    snapshot = Snapshot(as_of=AS_OF, units=(unit("D", "district", None), unit("P1")), devices=(
        own(1, date(2024, 6, 17)), own(2, date(2024, 6, 18)), own(3, date(2024, 5, 17)),  # 3: expired yesterday
        pc(4), pc(5, "P1", antivirus=(av(kes),)),  # Defender (no end), Kaspersky held by a register seat
    ), licences=(LicenceState(1, kes, 5, date(2024, 1, 1), date(2024, 5, 31)),))
    default = coverage_for(snapshot, Policy()).figures["antivirus_licence_expiring"]
    assert share(default) == (2, 4, {1, 5})  # ends within 30 days of 2024-05-18: 06-17 and the seat's 05-31
    shorter = coverage_for(snapshot, Policy(licence_expiry_warn_days=7)).figures["antivirus_licence_expiring"]
    assert share(shorter) == (0, 4, set())
    settings = Settings.from_env({"KIEMKE_LICENCE_EXPIRY_WARN_DAYS": "45"})
    wider = coverage_for(snapshot, Policy.from_settings(settings)).figures["antivirus_licence_expiring"]
    assert share(wider) == (3, 4, {1, 2, 5})
