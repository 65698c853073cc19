"""``figures`` and ``devices list`` through a real database: reports ingested, figures as of a past date."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from server.cli import main
from server.db import writing
from server.models import AntivirusLicence
from server.services.ingest import Delivery, receive
from server.services.records import save_licence
from shared.schema import InventoryReport
from tests.server.factories import T0, make_report, make_unit

DAY = T0.date()  # 2024-05-01; reports at 08:00 and 13:00 UTC fall within that day in Vietnam


@pytest.fixture
def district(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Engine:
    """A district office (a one-stop shop) and a commune; one PC in each; a BIOS flashed after the first report."""
    monkeypatch.setenv("KIEMKE_DATABASE_URL", database_url)
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    office = make_unit(engine, "UBND", staff=20, lan=True, internet="fibre", one_stop_shop=True)
    commune = make_unit(engine, "XA-01", kind="commune", parent="UBND", staff=8, lan=False)
    first = make_report("machine-1", collected_at=T0, bios_date=date(2014, 6, 1))
    deliver(engine, first, commune)
    deliver(engine, make_report("machine-1", collected_at=T0 + timedelta(hours=5), bios_date=date(2021, 1, 5)),
            commune)
    assert receive(engine, first, lambda _c: Delivery(unit_id=commune)).status == "duplicate"
    # The office's PC reports only by carried files and says the internet is not reachable.
    deliver(engine, make_report("machine-2", serial="SN-2002", hostname="pc-2", collected_at=T0, reachable=False),
            office, via="import")
    with writing(engine) as session:
        save_licence(session, AntivirusLicence(product="Bkav Pro", seats=10, valid_from=date(2024, 1, 1),
                                               valid_to=date(2024, 12, 31)), T0)
    return engine


def deliver(engine: Engine, report: InventoryReport, unit_id: int, via: str = "http") -> None:
    delivery = Delivery(via="import" if via == "import" else "http", unit_id=unit_id)
    assert receive(engine, report, lambda _c: delivery).status == "accepted"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main([*argv, "--json"]) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def figures(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, dict[str, object]]:
    out = run_json(capsys, "figures", *argv)
    result: dict[str, dict[str, object]] = out["figures"]  # type: ignore[assignment]
    return result


def share(fig: dict[str, object]) -> tuple[object, object, object]:
    return fig["numerator"], fig["denominator"], fig["percent"]


def test_figures_as_of_a_day(district: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    f = figures(capsys, "--as-of", DAY.isoformat())
    assert share(f["computers_with_agent"]) == (2, 2, 100.0)
    assert share(f["computers_air_gapped"]) == (1, 2, 50.0)
    # The carried-files PC is air-gapped: out of the internet denominator, counted beside it.
    assert share(f["computers_internet_connected"]) == (1, 1, 100.0)
    assert f["computers_internet_connected"]["detail"] == {"air_gapped": 1}
    assert share(f["computers_per_staff"]) == (2, 28, 7.14)
    assert share(f["computers_per_staff:commune"]) == (1, 8, 12.5)
    assert share(f["units_with_lan"]) == (1, 2, 50.0) and f["units_with_lan"]["items"] == ["UBND"]
    # by unit kind: the commune has no LAN; the office is of kind district, so in no kind's figure; no school
    assert share(f["units_with_lan:commune"]) == (0, 1, 0.0) and f["units_with_lan:commune"]["items"] == []
    assert share(f["units_with_lan:school"]) == (0, 0, None)  # no data, never 0% or 100%
    assert share(f["units_with_fibre:commune"]) == (0, 1, 0.0)
    assert share(f["units_with_scanner:department"]) == (0, 0, None)
    assert share(f["one_stop_shops_equipped"]) == (0, 1, 0.0)
    assert share(f["antivirus_licensed"]) == (2, 2, 100.0)  # Windows Defender, licensed by the setting
    assert share(f["past_service_life"]) == (2, 2, 100.0)  # both from 2014, whatever the BIOS says now


def test_figures_of_a_past_day_do_not_change_after_later_reports(
    district: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    before = run_json(capsys, "figures", "--as-of", DAY.isoformat())
    later = T0 + timedelta(days=3)
    xa = make_unit(district, "XA-01", kind="commune", parent="UBND", staff=8, lan=False)
    deliver(district, make_report("machine-1", collected_at=later, av_enabled=False), xa)
    assert run_json(capsys, "figures", "--as-of", DAY.isoformat()) == before
    now = figures(capsys, "--as-of", later.date().isoformat())
    assert share(now["antivirus_enabled"]) == (1, 2, 50.0)


def test_figures_for_one_unit_match_its_row_in_the_whole_tree(
    district: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = run_json(capsys, "figures", "--as-of", DAY.isoformat(), "--per-unit")
    commune = run_json(capsys, "figures", "--as-of", DAY.isoformat(), "--unit", "XA-01")
    assert commune["figures"] == whole["per_unit"]["XA-01"]  # type: ignore[index]
    assert commune["unit"] == "XA-01"


def test_figures_table_for_a_person(district: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["figures", "--as-of", DAY.isoformat(), "--per-unit"]) == 0
    out = capsys.readouterr().out
    assert "Staff equipped with a computer" in out and "7.14% (2/28)" in out and "XA-01" in out


def test_unknown_unit_exits_2(district: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["figures", "--unit", "NOPE"]) == 2
    assert "NOPE" in capsys.readouterr().err
    assert main(["devices", "list", "--unit", "NOPE"]) == 2


def test_devices_list_shows_age_source_compliance_and_distinct_reports(
    district: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run_json(capsys, "devices", "list", "--as-of", DAY.isoformat())
    rows = {row["name"]: row for row in out["data"]}  # type: ignore[attr-defined]
    assert out["count"] == 2
    pc1, pc2 = rows["pc-1"], rows["pc-2"]
    assert (pc1["unit"], pc1["kind"], pc1["reports_received"]) == ("XA-01", "desktop", 2)  # the re-sent one: once
    assert (pc1["in_service_date"], pc1["age_source"], pc1["age_estimated"]) == ("2014-06-01", "firmware", True)
    assert pc1["past_service_life"] is True and pc1["issues"] == []
    assert pc1["last_seen"].startswith("2024-05-01T13:00")
    assert pc2["unit"] == "UBND" and pc2["reports_received"] == 1


def test_devices_list_problems_and_table(district: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    later = (T0 + timedelta(days=40)).date().isoformat()  # both agents silent for 40 days by then
    out = run_json(capsys, "devices", "list", "--as-of", later, "--unit", "XA-01", "--problems")
    assert [row["issues"] for row in out["data"]] == [["not_seen_recently"]]  # type: ignore[attr-defined]
    assert main(["devices", "list", "--as-of", DAY.isoformat()]) == 0
    assert "2 devices as of the end of 2024-05-01" in capsys.readouterr().out


def test_the_table_rounds_as_the_report_does() -> None:
    from server.commands.figures import label, share_text
    from server.services.figure import Figure

    assert share_text(Figure("k", 10, 44)) == "22.73% (10/44)"
    assert share_text(Figure("k", 2, 3)) == "66.67% (2/3)"
    assert share_text(Figure("k", 17306, 17307)) == "99.99% (17306/17307)"
    assert share_text(Figure("k", 0, 0)) == "no data (0/0)"
    assert label("units_with_lan:commune") == "  of which in communes"


def test_figures_show_licences_ending_soon_and_the_renewals_forecast(
    district: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one table row per line
    out = run_json(capsys, "figures", "--as-of", DAY.isoformat())
    expiring = out["figures"]["antivirus_licence_expiring"]  # type: ignore[index]
    assert (expiring["numerator"], expiring["denominator"], expiring["items"]) == (0, 2, [])  # Defender never ends
    assert out["forecast_licences"] == {"2024": {"*": {"Bkav Pro": 10}}, "2025": {}, "2026": {}, "2027": {}}
    assert main(["figures", "--as-of", DAY.isoformat()]) == 0
    table = capsys.readouterr().out
    assert "Antivirus licences ending soon (of licensed)" in table
    assert re.search(r"2024\s*│\s*\*\s*│\s*Bkav Pro\s*│\s*10\s*│", table)  # year, unit, product, seats


@pytest.mark.parametrize("command", [["figures"], ["devices", "list"], ["detections", "list"]])
def test_a_cut_off_outside_the_calendar_the_api_accepts_exits_2(
        district: Engine, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    """Year 1 (or 9999-12-31) is refused with the range, as the API refuses it, never an overflow."""
    for day in ("0001-01-01", "9999-12-31"):
        with pytest.raises(SystemExit) as exited:
            main([*command, "--as-of", day])
        assert exited.value.code == 2
        assert f"{day} is outside 2000-01-01..9999-12-30" in capsys.readouterr().err
