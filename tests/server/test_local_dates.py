"""Dates shown to a person are the district's, at every hour: the clock frozen around local midnight.

Asia/Ho_Chi_Minh's day ends at 17:00 UTC: at 16:59 UTC it is still 01/12 there, at 17:01 UTC already 02/12,
whatever the machine's own zone (CI also runs this selection under TZ=America/Los_Angeles).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import time_machine

from server.cli import main
from server.config import Settings
from server.db import open_database
from tests.server.factories import T0, make_unit

pytestmark = pytest.mark.dates

BEFORE = datetime(2026, 12, 1, 16, 59, tzinfo=timezone.utc)  # 23:59 on 01/12 in the district
AFTER = datetime(2026, 12, 1, 17, 1, tzinfo=timezone.utc)  # 00:01 on 02/12 in the district
AROUND_MIDNIGHT = [(BEFORE, date(2026, 12, 1)), (AFTER, date(2026, 12, 2))]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory with a district and one commune, recorded in 2024."""
    for name in ("KIEMKE_DATABASE_URL", "DATABASE_URL", "KIEMKE_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    engine = open_database(Settings.from_env().url)
    make_unit(engine, "UBND", staff=None)
    make_unit(engine, "XA-01", kind="commune", parent="UBND", name="Xã Tân Bình", staff=4, lan=True)
    engine.dispose()
    return tmp_path


@pytest.mark.parametrize(("now", "today"), AROUND_MIDNIGHT)
def test_the_cut_off_defaults_to_the_districts_today(
        data_dir: Path, capsys: pytest.CaptureFixture[str], now: datetime, today: date) -> None:
    with time_machine.travel(now, tick=False):
        assert main(["figures", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["as_of"] == today.isoformat()
        assert main(["report", "--format", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["as_of"] == today.isoformat()
        assert main(["report"]) == 0
        assert f"**(Đến {today:%d/%m/%Y})**" in capsys.readouterr().out


@pytest.mark.parametrize(("now", "today"), AROUND_MIDNIGHT)
def test_a_correction_is_dated_in_the_district(
        data_dir: Path, capsys: pytest.CaptureFixture[str], now: datetime, today: date) -> None:
    sheet = data_dir / "units.csv"
    sheet.write_text("code,name,kind,parent,staff\nXA-01,Xã Tân Bình,commune,UBND,5\n", encoding="utf-8")
    with time_machine.travel(now, tick=False):  # the officer corrects the headcount at that moment
        assert main(["units", "import", str(sheet)]) == 0
    capsys.readouterr()
    as_of = T0.date().isoformat()  # a cut-off before the correction: its figures were corrected later
    assert main(["report", "--as-of", as_of, "--no-compare"]) == 0
    assert f"(lần điều chỉnh gần nhất ngày {today:%d/%m/%Y})" in capsys.readouterr().out
    assert main(["figures", "--as-of", as_of]) == 0
    assert f"Inputs for this date were corrected on {today.isoformat()}." in capsys.readouterr().out


@pytest.mark.parametrize(("now", "today"), AROUND_MIDNIGHT)
def test_a_purchase_today_is_not_in_the_future(
        data_dir: Path, capsys: pytest.CaptureFixture[str], now: datetime, today: date) -> None:
    sheet = data_dir / "assets.csv"
    sheet.write_text(f"unit,kind,name,purchased_on\nXA-01,scanner,Máy scan một cửa,{today.isoformat()}\n",
                     encoding="utf-8")
    with time_machine.travel(now, tick=False):
        assert main(["assets", "import", str(sheet)]) == 0
    assert "in the future" not in capsys.readouterr().err
