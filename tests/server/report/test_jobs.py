"""Scheduled report snapshots: which cut-offs are due, and one runner however many replicas tick."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from server.config import Settings
from server.jobs import REPORT_JOB, ReportSchedule, due_cut_offs, run_report_job, start_scheduler
from server.report.document import ReportDocument
from server.report.generate import ReportRequest
from server.report.section import build_report
from server.report.store import JobRun, ReportSnapshot, clear
from server.services.policy import Policy
from tests.server.report.handbuilt import make_coverage, make_snapshot

pytestmark = pytest.mark.dates  # cut-off days end at local midnight: run again under another TZ

T0 = datetime(2024, 5, 19, 0, 30, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def report_tables(engine: Engine) -> None:
    """The report tables on the shared test database (SQLite, and PostgreSQL when it runs), empty."""
    clear(engine)


class CountingGenerator:
    """Stands in for the history/coverage pipeline: the hand-built district, counting its calls."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[ReportRequest] = []
        self.fail = fail

    def __call__(self, session: Session, request: ReportRequest) -> ReportDocument:
        self.calls.append(request)
        if self.fail:
            raise RuntimeError("database went away")
        return build_report(make_coverage(), make_snapshot(), request.lang)


def test_due_cut_offs() -> None:
    schedule = ReportSchedule(cut_offs=("05-18", "11-18", "12-31"))
    assert due_cut_offs(date(2024, 5, 18), schedule) == []  # the day has not ended yet
    assert due_cut_offs(date(2024, 5, 19), schedule) == [date(2024, 5, 18)]
    assert due_cut_offs(date(2024, 5, 25), schedule) == [date(2024, 5, 18)]
    assert due_cut_offs(date(2024, 5, 26), schedule) == []  # beyond the 7-day catch-up
    assert due_cut_offs(date(2025, 1, 2), schedule) == [date(2024, 12, 31)]


def test_schedule_from_environment() -> None:
    schedule = ReportSchedule.from_env({"KIEMKE_REPORT_CUTOFFS": "06-30, 12-31", "KIEMKE_REPORT_LANGS": "en,vi",
                                        "KIEMKE_REPORT_UNITS": "TB"})
    assert schedule.cut_offs == ("06-30", "12-31")
    assert schedule.langs == ("vi", "en")
    assert schedule.units == ("TB",)
    assert ReportSchedule.from_env({}).cut_offs == ("05-18", "11-18")
    with pytest.raises(ValueError):
        ReportSchedule.from_env({"KIEMKE_REPORT_CUTOFFS": "13-40"})
    with pytest.raises(ValueError):
        ReportSchedule.from_env({"KIEMKE_REPORT_LANGS": "fr"})


def test_two_replicas_keep_each_report_once(engine: Engine) -> None:
    generator = CountingGenerator()
    replicas = [ReportSchedule(langs=("vi", "en"), runner=name) for name in ("a", "b")]
    first = run_report_job(engine, Policy(), replicas[0], date(2024, 5, 19), generate=generator, now=T0)
    second = run_report_job(engine, Policy(), replicas[1], date(2024, 5, 19), generate=generator, now=T0)
    assert first == [(date(2024, 5, 18), None, "vi"), (date(2024, 5, 18), None, "en")]
    assert second == []
    assert len(generator.calls) == 2
    with Session(engine) as session:
        kept = session.exec(select(ReportSnapshot)).all()
        assert sorted((r.as_of, r.lang, r.trigger) for r in kept) == [
            (date(2024, 5, 18), "en", "schedule"), (date(2024, 5, 18), "vi", "schedule")]
        assert all(r.docx.startswith(b"PK") and "99,59% (17.236/17.307)" in r.markdown
                   for r in kept if r.lang == "vi")
        runs = session.exec(select(JobRun)).all()
        assert {(r.job, r.status, r.runner) for r in runs} == {
            (f"{REPORT_JOB}:*:vi", "done", "a"), (f"{REPORT_JOB}:*:en", "done", "a")}


def test_a_failed_run_is_retried_on_the_next_tick(engine: Engine) -> None:
    schedule = ReportSchedule(runner="a")
    assert run_report_job(engine, Policy(), schedule, date(2024, 5, 19), generate=CountingGenerator(fail=True),
                          now=T0) == []
    with Session(engine) as session:
        assert session.exec(select(JobRun.status)).all() == ["failed"]
        assert session.exec(select(ReportSnapshot)).all() == []
    retry = CountingGenerator()
    assert run_report_job(engine, Policy(), schedule, date(2024, 5, 20), generate=retry, now=T0) == [
        (date(2024, 5, 18), None, "vi")]


def test_scheduler_registers_the_daily_tick(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    # no cut-off can be due with a zero-day window, so the start-up tick only creates the tables
    scheduler = start_scheduler(engine, settings, ReportSchedule(cut_offs=("01-01",), catch_up_days=0))
    try:
        job = scheduler.get_job(REPORT_JOB)
        assert job is not None
        assert "hour='0'" in str(job.trigger) and "minute='30'" in str(job.trigger)
    finally:
        scheduler.shutdown(wait=True)
