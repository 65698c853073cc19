"""One path to the figures as of a date: the command line, the report, the console and the service agree."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy.engine import Engine

from server.cli import main
from server.commands._coverage import compute
from server.commands.figures import as_json
from server.console.data import CoverageCache
from server.db import reading
from server.report import render
from server.report.generate import ReportRequest, make_report
from server.report.section import build_report
from server.services.figures import UnknownUnit, figures_as_of
from server.services.ingest import Delivery, receive
from server.services.policy import Policy
from tests.server.factories import T0, make_unit
from tests.server.factories import make_report as make_inventory_report

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = T0.date()


@pytest.fixture
def district(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Engine:
    """A district office and a commune, one PC each: the commune's reports twice, the second a day later."""
    monkeypatch.setenv("KIEMKE_DATABASE_URL", database_url)
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KIEMKE_TIMEZONE", "Asia/Ho_Chi_Minh")
    office = make_unit(engine, "UBND", staff=20, lan=True, internet="fibre", one_stop_shop=True)
    commune = make_unit(engine, "XA-01", kind="commune", parent="UBND", staff=8, lan=False)
    for report, unit in (
        (make_inventory_report("machine-1", collected_at=T0, av_enabled=False), commune),
        (make_inventory_report("machine-1", collected_at=T0 + timedelta(days=1)), commune),
        (make_inventory_report("machine-2", serial="SN-2", hostname="pc-2", collected_at=T0), office),
    ):
        assert receive(engine, report, lambda _c, u=unit: Delivery(unit_id=u)).status == "accepted"
    return engine


@pytest.mark.dates
@pytest.mark.parametrize("unit", [None, "XA-01"])
def test_every_caller_reads_the_same_figures(district: Engine, capsys: pytest.CaptureFixture[str],
                                             unit: str | None) -> None:
    policy = Policy()
    with reading(district) as session:
        direct = figures_as_of(session, DAY, unit, policy=policy, tz=TZ)
    # the command line, in process and as a command
    assert compute(DAY, unit).coverage == direct.coverage
    assert main(["figures", "--as-of", DAY.isoformat(), "--json", *(["--unit", unit] if unit else [])]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(as_json(direct.coverage, False), default=str))
    # the console's cache
    assert CoverageCache().get(district, DAY, unit, policy, TZ).coverage == direct.coverage
    # the report: the same document as one built from the direct figures
    with time_machine.travel(T0 + timedelta(days=3), tick=False):  # the document says when it was made
        with reading(district) as session:
            document = make_report(session, ReportRequest(as_of=DAY, unit_code=unit, compare=False), policy, TZ)
        built = build_report(direct.coverage, direct.snapshot, "vi", items=False,
                             service_life_years=policy.service_life_years, tz=TZ)
    assert render(document, "json") == render(built, "json")


@pytest.mark.dates
def test_the_figures_of_a_past_day_stay_and_an_unknown_unit_is_named(district: Engine) -> None:
    with reading(district) as session:
        first = figures_as_of(session, DAY, "XA-01", tz=TZ).coverage.figures["antivirus_enabled"]
        second = figures_as_of(session, DAY + timedelta(days=1), "XA-01", tz=TZ).coverage.figures["antivirus_enabled"]
        assert (first.numerator, first.denominator) == (0, 1)
        assert (second.numerator, second.denominator) == (1, 1)
        with pytest.raises(UnknownUnit, match=r"'NOPE' is not in the inventory as of 2024-05-01"):
            figures_as_of(session, DAY, "NOPE")
        with pytest.raises(UnknownUnit):
            figures_as_of(session, date(2000, 1, 1), "XA-01")  # not yet created
