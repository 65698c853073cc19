"""Where the figures are slow to compute (a province, reports arriving all the time), the pages that only show
figures show the scope's last ones, saying when they were made, while the newest are computed behind them;
pages that change or name one record always wait for the newest. Every engine, no clock read by the tests:
"slow" is set to zero (every computation counts as slow) or to infinity (none does)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server.clock import local_today
from server.console.data import CoverageCache, data_fingerprint
from server.models import OrgUnit, OrgUnitVersion, table_of
from server.services.policy import Policy

WHEN = datetime(2024, 5, 1, tzinfo=timezone.utc)
NOTICE = "Số liệu tính lúc"


class HeldCache(CoverageCache):
    """Every figure asked for as slow; the background computation waits until the test lets it go, so what a
    page shows never depends on how fast the engine computes (a fast PostgreSQL finished between two pages)."""

    def __init__(self) -> None:
        super().__init__(slow_seconds=0.0)
        self.release = threading.Event()

    def _compute_behind(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> None:
        self.release.wait(timeout=120)
        super()._compute_behind(key, compute)

    def let_go(self) -> None:
        """Let the held computations run, wait for them, and hold the next ones again."""
        self.release.set()
        self.wait_idle()
        self.release.clear()


def _new_data(engine: Engine, code: str) -> None:
    """A change every snapshot sees (a new unit with its first version): a new data version."""
    with engine.begin() as conn:
        unit_id = conn.execute(table_of(OrgUnit).insert().values(code=code, name=code, kind="school")
                               .returning(table_of(OrgUnit).c.id)).scalar_one()
        conn.execute(table_of(OrgUnitVersion).insert().values(unit_id=unit_id, name=code, kind="school",
                                                              valid_from=WHEN))


def test_the_last_figures_while_the_newest_are_computed(admin: TestClient) -> None:
    settings = admin.app.state.settings  # type: ignore[attr-defined]
    engine: Engine = admin.app.state.engine  # type: ignore[attr-defined]
    policy, tz = Policy.from_settings(settings), settings.tz
    day = local_today(tz)
    cache = CoverageCache(slow_seconds=0.0)
    before = data_fingerprint(engine)
    first = cache.get(engine, day, None, policy, tz, before)
    _new_data(engine, "NEW-1")
    after = data_fingerprint(engine)
    assert after != before
    shown, made = cache.get_or_recent(engine, day, None, policy, tz, after)
    assert shown is first and made is not None  # the last figures, and when they were made
    cache.wait_idle()  # the newest, computed behind
    newest, made = cache.get_or_recent(engine, day, None, policy, tz, after)
    assert made is None and newest is not first and newest is cache.get(engine, day, None, policy, tz, after)
    assert "NEW-1" in {u.code for u in newest.snapshot.units}
    assert "NEW-1" not in {u.code for u in first.snapshot.units}
    # another scope has no figures of its own yet: it waits for the newest
    unit, made = cache.get_or_recent(engine, day, "PB01", policy, tz, after)
    assert made is None and unit is cache.get(engine, day, "PB01", policy, tz, after)


def test_fast_or_old_figures_are_never_shown_for_the_newest(admin: TestClient) -> None:
    settings = admin.app.state.settings  # type: ignore[attr-defined]
    engine: Engine = admin.app.state.engine  # type: ignore[attr-defined]
    policy, tz = Policy.from_settings(settings), settings.tz
    day = local_today(tz)
    for cache in (CoverageCache(slow_seconds=float("inf")), CoverageCache(slow_seconds=0.0, max_age=-1.0)):
        first = cache.get(engine, day, None, policy, tz, data_fingerprint(engine))
        _new_data(engine, f"NEW-{id(cache)}")
        shown, made = cache.get_or_recent(engine, day, None, policy, tz, data_fingerprint(engine))
        assert made is None and shown is not first


def test_pages_say_how_old_the_figures_are(admin: TestClient) -> None:
    engine: Engine = admin.app.state.engine  # type: ignore[attr-defined]
    cache = admin.app.state.console_cache = HeldCache()  # type: ignore[attr-defined]
    assert NOTICE not in admin.get("/").text  # nothing computed before: the page waits for its figures
    assert NOTICE not in admin.get("/devices").text
    _new_data(engine, "NEW-2")
    page = admin.get("/")
    assert page.status_code == 200 and NOTICE in page.text and 'role="status"' in page.text
    assert NOTICE in admin.get("/devices").text  # the same scope's last figures
    cache.let_go()
    assert NOTICE not in admin.get("/").text  # the newest, once computed
    _new_data(engine, "NEW-3")
    assert NOTICE not in admin.get("/devices/1").text  # a device's page waits for the newest
    cache.let_go()
    _new_data(engine, "NEW-4")
    units = admin.get("/units?saved=PB01")  # after an edit, the edit is shown
    assert NOTICE not in units.text and "NEW-4" in units.text
    _new_data(engine, "NEW-5")
    english = admin.get("/?lang=en").text
    assert "Figures computed at" in english and "reload the page in a minute" in english
    cache.let_go()
