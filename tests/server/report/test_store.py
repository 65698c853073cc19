"""The job-run claim (one runner across replicas) and kept reports, on a real SQLite database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from server.report import store

DAY = date(2024, 5, 18)
T0 = datetime(2024, 5, 18, 1, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def report_tables(engine: Engine) -> None:
    """The report tables on the shared test database (SQLite, and PostgreSQL when it runs), empty."""
    store.clear(engine)


def test_first_claim_wins_and_the_second_skips(engine: Engine) -> None:
    assert store.claim(engine, "report", DAY, "replica-a", now=T0)
    assert not store.claim(engine, "report", DAY, "replica-b", now=T0 + timedelta(minutes=1))
    assert store.claim(engine, "report", DAY + timedelta(days=1), "replica-b", now=T0)
    assert store.claim(engine, "other-job", DAY, "replica-b", now=T0)


def test_many_replicas_racing_have_exactly_one_winner(engine: Engine) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: store.claim(engine, "report", DAY, f"replica-{i}", now=T0), range(8)))
    assert results.count(True) == 1


def test_done_run_is_never_repeated(engine: Engine) -> None:
    assert store.claim(engine, "report", DAY, "a", now=T0)
    store.finish(engine, "report", DAY, ok=True)
    assert not store.claim(engine, "report", DAY, "b", now=T0 + timedelta(days=3))


def test_failed_run_can_be_claimed_again_once(engine: Engine) -> None:
    assert store.claim(engine, "report", DAY, "a", now=T0)
    store.finish(engine, "report", DAY, ok=False, detail="boom")
    assert store.claim(engine, "report", DAY, "b", now=T0 + timedelta(minutes=5))
    assert not store.claim(engine, "report", DAY, "c", now=T0 + timedelta(minutes=6))


def test_claim_of_a_dead_runner_is_taken_over_after_it_goes_stale(engine: Engine) -> None:
    assert store.claim(engine, "report", DAY, "a", now=T0)
    assert not store.claim(engine, "report", DAY, "b", now=T0 + timedelta(minutes=59))
    assert store.claim(engine, "report", DAY, "b", now=T0 + timedelta(minutes=61))
    assert not store.claim(engine, "report", DAY, "c", now=T0 + timedelta(minutes=62))


def test_kept_reports_list_and_previous_cut_off(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        for as_of, unit in ((date(2023, 11, 18), None), (date(2024, 5, 18), None), (date(2024, 1, 1), "TB")):
            store.save(session, store.ReportSnapshot(as_of=as_of, period="p", unit_code=unit, lang="vi",
                                                     markdown="# x", json_text="{}", docx=b"PK"))
    with Session(engine) as session:
        assert [r.as_of for r in store.listing(session)] == [date(2024, 5, 18), date(2023, 11, 18)]
        assert [r.as_of for r in store.listing(session, "TB")] == [date(2024, 1, 1)]
        assert store.previous_cut_off(session, date(2024, 5, 18), None) == date(2023, 11, 18)
        assert store.previous_cut_off(session, date(2023, 11, 18), None) is None
        assert store.previous_cut_off(session, date(2024, 11, 18), "TB") == date(2024, 1, 1)
