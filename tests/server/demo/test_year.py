"""The demo's year of history: an earlier cut-off shows the district before its improvements."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.engine import Engine

from server.clock import local_today, utcnow
from server.config import report_timezone
from server.db import reading
from server.demo import fleet, load, year
from server.models import Agent, Device, ReceivedReport, table_of
from server.report import render
from server.report.generate import ReportRequest, make_report
from server.report.store import listing
from server.services.figures import figures_as_of
from server.services.policy import Policy

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)


def test_plan_is_deterministic_and_trends_the_right_way() -> None:
    pcs = fleet.fleet()
    lives = year.plan(pcs, NOW)
    assert lives == year.plan(pcs, NOW)
    replaced = [life for life in lives if life.last is not None]
    fixed = [life for life in lives if life.fixed_at is not None]
    assert len(replaced) > 50 and len(fixed) > 100
    # A replaced PC is old (past a five-year service life) and leaves before its successor arrives.
    successors = {life.pc.hostname: life for life in lives if life.last is None}
    for old in replaced:
        assert old.pc.launch_year <= 2014
        assert old.last is not None and old.last < successors[old.pc.hostname].first
    for life in fixed:
        assert life.fixed_at is not None and life.before_fix is not None
        assert life.at(life.fixed_at - timedelta(days=1)) == life.before_fix
        assert life.at(life.fixed_at).av_healthy
    start = NOW - year.YEAR
    for life in lives[:100]:
        times = list(year.reports(life, NOW))
        assert all(start <= t < NOW - timedelta(hours=12) for t in times)
        assert times == sorted(times) and all(t >= life.first for t in times)


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> load.Loaded:
    """A sample of the demo fleet (every eighth PC) with its year, written with the clock frozen at NOW."""
    with time_machine.travel(NOW, tick=False):
        return load.load(engine, utcnow(), tmp_path / "seed", pcs=fleet.fleet()[::8])


@pytest.mark.slow
def test_an_earlier_cut_off_shows_the_district_before_it_improved(engine: Engine, loaded: load.Loaded) -> None:
    tz = report_timezone()
    policy = Policy()
    with time_machine.travel(NOW, tick=False):
        today = local_today(tz)
    earlier = today - timedelta(days=182)
    with reading(engine) as session:
        then = figures_as_of(session, earlier, policy=policy, tz=tz).coverage.figures
        now = figures_as_of(session, today, policy=policy, tz=tz).coverage.figures
        document = make_report(session, ReportRequest(as_of=today, lang="en", compare_to=earlier), policy, tz)
    enabled_then, enabled_now = then["antivirus_enabled"].fraction, now["antivirus_enabled"].fraction
    assert enabled_then is not None and enabled_now is not None and enabled_then < enabled_now
    # Old PCs were replaced faster than others aged past their service life.
    old_then, old_now = then["past_service_life"].fraction, now["past_service_life"].fraction
    assert old_then is not None and old_now is not None and old_then > old_now
    # Agents reported before the cut-off, so the earlier figures are not zeros.
    assert then["computers_with_agent"].numerator > 0.8 * now["computers_with_agent"].numerator
    assert document.previous is not None and document.previous.as_of == earlier
    text = render(document, "md").decode()
    assert "on the previous period" in text
    # Defender PCs' detection histories are read (Kaspersky's and Bkav's are not): the malware sentence has data.
    found = now["computers_with_detections"]
    assert found.denominator > 0 and found.detail["unreadable"] > 0
    assert "In the period, " in text and "malware" in text
    assert "Previous period used for comparison" in text

    # Every report was filed at a receipt time within the year, after the agent enrolled and the device existed.
    r, a, d = table_of(ReceivedReport).c, table_of(Agent).c, table_of(Device).c
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table_of(ReceivedReport))).scalar() == \
            loaded.reports
        late = conn.execute(sa.select(sa.func.count()).select_from(table_of(ReceivedReport).join(
            table_of(Agent), a.id == r.agent_id)).where(r.collected_at < a.created_at)).scalar()
        assert late == 0
        assert conn.execute(sa.select(sa.func.count()).where(d.status == "retired")).scalar() == loaded.retired > 0


@pytest.mark.slow
def test_the_year_s_cut_off_reports_are_kept(engine: Engine, loaded: load.Loaded) -> None:
    """The scheduled cut-offs (18 May, 18 November) of the year are kept, each compared with the one before."""
    assert loaded.kept == [date(2026, 5, 18), date(2026, 11, 18)]
    with reading(engine) as session:
        kept = sorted(listing(session), key=lambda r: r.as_of)
    assert [(r.as_of, r.trigger, r.unit_code) for r in kept] == [(day, "schedule", None) for day in loaded.kept]
    first, second = (json.loads(r.json_text) for r in kept)
    assert first["previous"] is None and second["previous"]["as_of"] == "2026-05-18"
    assert all(r.docx[:2] == b"PK" and "2026" in r.markdown for r in kept)
