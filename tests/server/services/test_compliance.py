"""Compliance of one computer: issue rules and their order, OS support dates, freshness and reporting limits."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from sqlalchemy.engine import Engine

from agent.collect import collect_report
from server.config import Settings
from server.db import reading
from server.services.compliance import ISSUE_ORDER, check_computer, is_air_gapped, os_supported, signature_freshness
from server.services.figures import figures_as_of
from server.services.ingest import Delivery, receive
from server.services.licences import DeviceLicensing
from server.services.policy import Policy
from tests.agent.helpers import REPLAY
from tests.server.factories import make_unit
from tests.server.services.state_factories import AS_OF, asset, at, av, pc

POLICY = Policy()
LICENSED = DeviceLicensing(licensed=frozenset({"Windows Defender"}))


@pytest.mark.parametrize(
    ("name", "version", "build", "as_of", "supported"),
    [
        ("Microsoft Windows 10 Pro", "10.0.19045", "19045", date(2024, 5, 18), True),
        ("Microsoft Windows 10 Pro", "10.0.19045", "19045", date(2025, 10, 14), True),
        ("Microsoft Windows 10 Enterprise", "10.0.19044", None, date(2025, 10, 15), False),
        ("Microsoft Windows 7 Ultimate", "6.1.7601", None, date(2024, 5, 18), False),
        ("Microsoft Windows 7 Professional", "6.1.7601", None, date(2019, 12, 31), True),
        ("Microsoft Windows 8.1 Pro", "6.3.9600", None, date(2024, 5, 18), False),
        ("Microsoft Windows XP Professional", "5.1.2600", None, date(2024, 5, 18), False),
        ("Microsoft Windows", "6.1.7601", None, date(2024, 5, 18), False),  # name without release: NT 6.1 is 7
        ("Microsoft Windows 11 Pro", "10.0.22631", "22631", date(2024, 5, 18), True),
        ("Microsoft Windows 11 Pro", "10.0.22000", None, date(2024, 5, 18), False),  # 21H2 ended 2023-10-10
        ("Microsoft Windows 11 Enterprise", "10.0.22000", None, date(2024, 5, 18), True),  # +1 year
        ("Microsoft Windows 11 Home", "10.0.22631", None, date(2025, 11, 12), False),
        ("Microsoft Windows 11 Pro", None, None, date(2024, 5, 18), True),
        ("Microsoft Windows Server 2012 R2 Standard", "6.3.9600", None, date(2024, 5, 18), False),
        ("Microsoft Windows Server 2008 R2 Standard", "6.1.7601", None, date(2019, 5, 18), True),
        ("Microsoft Windows Server 2019 Standard", "10.0.17763", None, date(2024, 5, 18), True),
        ("macOS", "14.4.1", None, date(2024, 5, 18), True),
        ("macOS", "12.7.4", None, date(2024, 5, 18), True),  # Sonoma, Ventura, Monterey
        ("macOS", "11.7.10", None, date(2024, 5, 18), False),
        ("macOS", "12.7.4", None, date(2024, 9, 17), False),  # Sequoia is out: Monterey drops off
        ("Mac OS X", "10.15.7", None, date(2024, 5, 18), False),
        ("Ubuntu 22.04.4 LTS", "22.04", None, date(2024, 5, 18), True),
        ("Ubuntu", "18.04", None, date(2024, 5, 18), False),
        ("Ubuntu", "23.10", None, date(2024, 5, 18), True),
        ("Ubuntu", "23.04", None, date(2024, 5, 18), False),  # interim: nine months, ended January 2024
        ("Debian GNU/Linux", "12", None, date(2024, 5, 18), True),
        ("Debian GNU/Linux", "9", None, date(2024, 5, 18), False),
    ],
)
def test_os_support_as_of_a_date(name: str, version: str | None, build: str | None, as_of: date,
                                 supported: bool) -> None:
    assert os_supported(name, version, build, as_of) is supported


@pytest.mark.parametrize(("name", "version"), [("Fedora Linux", "40"), (None, None), ("Ubuntu", None)])
def test_os_not_in_the_table_is_unknown(name: str | None, version: str | None) -> None:
    assert os_supported(name, version, None, AS_OF) is None


def test_healthy_computer_has_no_issue() -> None:
    result = check_computer(pc(1), AS_OF, POLICY, LICENSED)
    assert result.issues == ()
    assert (result.antivirus_installed, result.antivirus_enabled, result.antivirus_freshness,
            result.antivirus_licensed, result.os_supported, result.stale) == (True, True, "current", True, True, False)


def test_issues_come_most_serious_first_with_the_air_gap_violation_on_top() -> None:
    device = pc(1, air_gapped=True, internet_reachable=True, antivirus=(av(enabled=False),), firewall_enabled=False,
                os_name="Microsoft Windows 7 Professional", os_version="6.1.7601", last_seen=at(date(2024, 1, 1)))
    result = check_computer(device, AS_OF, POLICY, LICENSED)
    assert result.issues == ("air_gap_violation", "antivirus_disabled", "firewall_off", "os_unsupported",
                             "not_seen_recently")
    assert list(result.issues) == sorted(result.issues, key=ISSUE_ORDER.index)


def test_no_antivirus() -> None:
    assert check_computer(pc(1, antivirus=()), AS_OF, POLICY).issues == ("no_antivirus",)


def test_one_enabled_product_is_enough() -> None:
    device = pc(1, antivirus=(av(enabled=False), av("Bkav Pro")))
    licensing = DeviceLicensing(licensed=frozenset({"Bkav Pro", "Windows Defender"}))
    assert check_computer(device, AS_OF, POLICY, licensing).issues == ()


def test_unlicensed_enabled_product_gives_the_reason() -> None:
    device = pc(1, antivirus=(av("Bkav Pro"),))
    licensing = DeviceLicensing(problems={"Bkav Pro": "licence_expired:Bkav Pro"})
    result = check_computer(device, AS_OF, POLICY, licensing)
    assert result.issues == ("antivirus_unlicensed",)
    assert result.unlicensed_reason == "licence_expired:Bkav Pro"


def test_signatures_older_than_the_limit_are_out_of_date() -> None:
    fresh = av(updated=AS_OF - timedelta(days=7), up_to_date=None)
    stale = av(updated=AS_OF - timedelta(days=8), up_to_date=None)
    assert signature_freshness(fresh, AS_OF, POLICY) == "current"
    assert signature_freshness(stale, AS_OF, POLICY) == "stale"
    assert signature_freshness(stale, AS_OF, Policy(signature_max_age_days=10)) == "current"
    result = check_computer(pc(1, antivirus=(stale,)), AS_OF, POLICY, LICENSED)
    assert result.issues == ("antivirus_out_of_date",)


def test_product_saying_it_is_out_of_date_is_believed_when_it_gives_no_date() -> None:
    assert signature_freshness(av(up_to_date=False, updated=None), AS_OF, POLICY) == "stale"


def test_the_signature_date_decides_over_a_verdict_made_with_another_limit() -> None:
    # Defender (or an older agent, for ClamAV) judged with its own 7 days; the district allows 10.
    nine_days = av(up_to_date=False, updated=AS_OF - timedelta(days=9))
    assert signature_freshness(nine_days, AS_OF, Policy(signature_max_age_days=10)) == "current"
    recent = av(up_to_date=True, updated=AS_OF - timedelta(days=9))
    assert signature_freshness(recent, AS_OF, Policy(signature_max_age_days=3)) == "stale"


@pytest.mark.parametrize(("max_age", "expected"), [("10", "current"), ("3", "stale")])
def test_clamav_signatures_judged_by_the_configured_max_age(max_age: str, expected: str) -> None:
    policy = Policy.from_settings(Settings.from_env({"KIEMKE_SIGNATURE_MAX_AGE_DAYS": max_age}))
    clamav = av("ClamAV", source="clamav", up_to_date=None, updated=AS_OF - timedelta(days=9))
    assert signature_freshness(clamav, AS_OF, policy) == expected
    result = check_computer(pc(1, antivirus=(clamav,)), AS_OF, policy, DeviceLicensing(licensed=frozenset({"ClamAV"})))
    assert result.issues == (() if expected == "current" else ("antivirus_out_of_date",))


def test_freshness_nobody_reports_is_unknown_not_current() -> None:
    blind = av(up_to_date=None, updated=None)
    assert signature_freshness(blind, AS_OF, POLICY) == "unknown"
    assert signature_freshness(av(up_to_date=True, updated=None), AS_OF, POLICY) == "current"
    assert check_computer(pc(1, antivirus=(blind,)), AS_OF, POLICY, LICENSED).issues == ("antivirus_update_unknown",)


def test_freshness_and_staleness_judged_at_the_end_of_the_cut_off_day_in_local_time() -> None:
    # 2024-05-10 20:00 UTC is already 11 May in Vietnam (UTC+7): exactly seven days before the cut-off day.
    late = replace(av(up_to_date=None), signatures_updated_at=datetime(2024, 5, 10, 20, tzinfo=timezone.utc))
    assert signature_freshness(late, AS_OF, POLICY) == "current"
    assert signature_freshness(late, AS_OF, Policy(timezone="UTC")) == "stale"


def test_not_seen_recently_after_the_stale_limit() -> None:
    assert not check_computer(pc(1, last_seen=at(AS_OF - timedelta(days=30))), AS_OF, POLICY, LICENSED).stale
    assert check_computer(pc(1, last_seen=at(AS_OF - timedelta(days=31))), AS_OF, POLICY, LICENSED).stale
    assert check_computer(pc(1, last_seen=None), AS_OF, POLICY, LICENSED).stale


def test_air_gapped_by_flag_or_by_carried_files() -> None:
    assert is_air_gapped(pc(1, air_gapped=True, internet_reachable=False))
    assert is_air_gapped(pc(2, delivered_offline=True, internet_reachable=None))
    # Carried a file once but online: not air-gapped, and no violation since nobody flagged it.
    online = pc(3, delivered_offline=True, internet_reachable=True)
    assert not is_air_gapped(online)
    assert "air_gap_violation" not in check_computer(online, AS_OF, POLICY, LICENSED).issues


def test_computer_without_agent_only_says_so() -> None:
    assert check_computer(asset(1, "P1", "desktop"), AS_OF, POLICY).issues == ("no_agent",)
    flagged = check_computer(asset(2, "P1", "laptop", air_gapped=True), AS_OF, POLICY)
    assert flagged.air_gapped and not flagged.air_gap_violation


@pytest.mark.parametrize(("max_age", "current"), [("10", 1), ("3", 0)])
def test_a_replayed_clamav_report_is_judged_by_the_servers_limit(
    engine: Engine, tmp_path: Path, max_age: str, current: int
) -> None:
    # The office desktop's ClamAV database dates from 2024-03-07 12:35 UTC; it is captured and reported
    # nine days later, past the seven days the agent used to hold against it.
    reported = datetime(2024, 3, 16, 2, tzinfo=timezone.utc)
    capture = shutil.copytree(REPLAY / "linux-office-desktop", tmp_path / "capture")
    (capture / "linux/clamav/state.json").write_text(json.dumps(
        {"installed": True, "clamd_running": True, "clamonacc_running": False, "checked_at": reported.timestamp()}))
    with time_machine.travel(reported, tick=False):
        report = collect_report(replay=capture)
    unit_id = make_unit(engine, "UBND", at=reported)
    delivery = Delivery(via="http", unit_id=unit_id)
    assert receive(engine, report, lambda _conn: delivery, now=reported).status == "accepted"
    policy = Policy.from_settings(Settings.from_env({"KIEMKE_SIGNATURE_MAX_AGE_DAYS": max_age}))
    with reading(engine) as session:
        coverage = figures_as_of(session, date(2024, 3, 16), policy=policy).coverage
    assert coverage.figures["antivirus_enabled"].numerator == 1
    assert coverage.figures["antivirus_up_to_date"].numerator == current
