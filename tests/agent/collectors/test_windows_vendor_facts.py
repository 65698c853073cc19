"""Each product's own licence and signature facts, read by the single PowerShell run and replayed from captures."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from agent.collectors import _windows as win
from shared.schema import AntivirusProduct
from tests.agent.helpers import replay


def _product(folder: str, vendor: str) -> AntivirusProduct:
    report = replay(folder)
    return next(p for p in report.antivirus if win.VENDORS[vendor].search(p.name))


def test_kaspersky_commercial_key_in_the_32_bit_view_of_64_bit_windows_read_from_utf16_output() -> None:
    kes = _product("windows10-kaspersky-licensed", "kaspersky")
    assert kes.licence_type == "commercial"
    assert kes.licence_expires == date(2026, 9, 15)  # 187 days after the PC's day of the read, 2026-03-12
    assert kes.signatures_updated_at == datetime(2026, 3, 11, 22, 40, tzinfo=timezone.utc)
    assert kes.enabled is True


def test_kaspersky_trial_key_on_32_bit_windows() -> None:
    kes = _product("windows10-kaspersky-trial-x86", "kaspersky")
    assert (kes.licence_type, kes.licence_expires) == ("trial", date(2026, 4, 5))


def test_kaspersky_expired_key_counts_days_below_zero() -> None:
    kes = _product("windows10-kaspersky-expired", "kaspersky")
    assert (kes.licence_type, kes.licence_expires) == ("commercial", date(2026, 2, 28))  # twelve days before


def test_kaspersky_without_a_key_yet_says_nothing_of_a_licence_and_was_never_updated() -> None:
    kes = _product("windows10-kaspersky-nokey", "kaspersky")
    assert (kes.licence_type, kes.licence_expires, kes.signatures_updated_at) == (None, None, None)


def test_eset_engine_version_and_day_and_its_licence_file_expiry() -> None:
    eset = _product("windows10-eset", "eset")
    assert (eset.signature_version, eset.version) == ("28871", "11.0.2032.0")
    assert eset.signatures_updated_at == datetime(2026, 3, 11, tzinfo=timezone.utc)
    assert (eset.licence_expires, eset.licence_type) == (date(2026, 4, 2), None)


def test_bitdefender_days_left_and_version() -> None:
    bd = _product("windows11-bitdefender-licence", "bitdefender")
    assert (bd.licence_expires, bd.version) == (date(2027, 3, 12), "27.0.35.155")


def test_avira_licence_from_its_wmi_class_and_its_signature_set() -> None:
    avira = _product("windows10-avira", "avira")
    assert (avira.licence_expires, avira.signature_version) == (date(2026, 6, 30), "8.20.44.88")


def test_f_secure_takes_the_computer_protection_subscription() -> None:
    fs = _product("windows10-f-secure", "f-secure")
    assert (fs.licence_expires, fs.signature_version) == (date(2026, 11, 29), "2026-03-11_07")


def test_defender_reports_its_signature_version() -> None:
    defender = replay("windows10-defender").antivirus[0]
    assert defender.signature_version == "1.405.506.0"
    assert defender.licence_expires is None and defender.licence_type is None


def test_products_of_other_vendors_get_nothing_of_theirs() -> None:
    report = replay("windows10-kaspersky-licensed")
    defender = next(p for p in report.antivirus if "Defender" in p.name)
    assert (defender.licence_expires, defender.licence_type) == (None, None)


def test_capture_without_the_new_sources_replays_as_before() -> None:
    # Captures made before these probes existed lack both files: no error, no licence facts.
    report = replay("windows-bkav-desktop")
    assert not any(e.detail and "AntivirusVendors" in e.detail for e in report.errors)
    assert all(p.licence_expires is None and p.licence_type is None for p in report.antivirus)


@pytest.mark.parametrize(("raw", "expected"), [(0, date(2026, 3, 12)), (4294967295, date(2026, 3, 11)),
                                               (30, date(2026, 4, 11))])
def test_days_left_is_a_dword_counted_from_the_pcs_day(raw: int, expected: date) -> None:
    item = {"Key": "HKEY_LOCAL_MACHINE\\SOFTWARE\\KasperskyLab\\protected\\KES\\Data",
            "ReadAt": "2026-03-12T00:30:00+07:00", "LicKeyType": 1, "LicDaysTillExpiration": raw}
    assert win.parse_vendor_facts([item])["kaspersky"].licence_expires == expected


def test_kaspersky_key_types() -> None:
    def kind(key_type: int) -> str | None:
        item = {"Key": "HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\KasperskyLab\\protected\\KES\\Data",
                "ReadAt": "2026-03-12T09:00:00+07:00", "LicKeyType": key_type, "LicDaysTillExpiration": 10}
        return win.parse_vendor_facts([item])["kaspersky"].licence_type

    assert [kind(n) for n in (1, 2, 3, 4, 5, 6, 9)] == [
        "commercial", "trial", "trial", "trial", "commercial", "commercial", "unknown"]


def test_garbage_values_are_unknown_not_guesses() -> None:
    items = [
        {"Key": "HKEY_LOCAL_MACHINE\\SOFTWARE\\KasperskyLab\\protected\\KES\\Data", "ReadAt": "not a time",
         "LicKeyType": 1, "LicDaysTillExpiration": 10, "LastSuccessfulUpdate": "x"},
        {"Key": "HKEY_LOCAL_MACHINE\\SOFTWARE\\BitDefender\\Install", "ReadAt": "2026-03-12T09:00:00+07:00",
         "SurveyDataInfo": "{not json"},
        {"Key": "HKEY_LOCAL_MACHINE\\SOFTWARE\\ESET\\ESET Security\\CurrentVersion\\Info", "ScannerVersion": "x"},
    ]
    facts = win.parse_vendor_facts(items, [{"License_Expiration": "31.02.2026"}])
    assert facts["kaspersky"].licence_expires is None and facts["kaspersky"].licence_type == "commercial"
    assert "bitdefender" not in facts and "avira" not in facts
    assert facts["eset"].signature_version == "x" and facts["eset"].signatures_updated_at is None


def test_script_reads_both_registry_views_in_the_one_run() -> None:
    script = win.script()
    assert "Emit 'AntivirusVendors.json'" in script and "Emit 'AviraLicense.json'" in script
    for key in ("KasperskyLab\\protected\\*\\Data", "BitDefender\\Install"):
        assert f"'HKLM:\\SOFTWARE\\{key}'" in script
        assert f"'HKLM:\\SOFTWARE\\WOW6432Node\\{key}'" in script


def test_capture_saves_what_replay_needs() -> None:
    # capture writes every source the module names: the licence facts are among them, from the same run.
    names = win.source_names(win.live_source(1.0))
    assert {"AntivirusVendors.json", "AviraLicense.json"} <= set(names)
    assert set(names) - {"host.json"} == set(win.PROBES)
