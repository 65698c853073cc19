"""The console's cache: its data version changes with every committed change a snapshot reads, whatever the
order of commits; scopes share the day's snapshot and show the report's figures."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection, Engine

from server.clock import local_today
from server.console.data import CoverageCache, data_fingerprint
from server.db import reading
from server.models import OrgUnit, OrgUnitVersion, table_of
from server.services.figures import UnknownUnit, figures_as_of
from server.services.policy import Policy

WHEN = datetime(2024, 5, 1, tzinfo=timezone.utc)


def _add_unit(conn: Connection, code: str) -> None:
    unit_id = conn.execute(table_of(OrgUnit).insert().values(code=code, name=code, kind="school")
                           .returning(table_of(OrgUnit).c.id)).scalar_one()
    conn.execute(table_of(OrgUnitVersion).insert().values(unit_id=unit_id, name=code, kind="school",
                                                          valid_from=WHEN))


def test_every_commit_changes_the_version(engine: Engine) -> None:
    before = data_fingerprint(engine)
    assert data_fingerprint(engine) == before  # nothing changed: the cached figures stay valid
    with engine.begin() as conn:
        _add_unit(conn, "A")
    assert data_fingerprint(engine) != before


def test_a_commit_after_a_larger_id_still_changes_the_version(engine: Engine) -> None:
    """On PostgreSQL ids are handed out before commit: a writer that started first may commit last."""
    if engine.dialect.name != "postgresql":
        return  # SQLite has one writer at a time: ids are committed in order
    slow = engine.connect()
    slow_tx = slow.begin()
    _add_unit(slow, "SLOW")  # takes the smaller ids, still uncommitted
    with engine.begin() as conn:
        _add_unit(conn, "FAST")  # larger ids, committed first
    seen = data_fingerprint(engine)
    slow_tx.commit()
    slow.close()
    assert data_fingerprint(engine) != seen  # the same largest ids, yet the slow writer's rows are new


def test_scopes_share_the_days_snapshot_and_match_the_report(admin: TestClient) -> None:
    """Moving between units computes the unit's figures only, and they are the report's figures."""
    settings = admin.app.state.settings  # type: ignore[attr-defined]
    engine = admin.app.state.engine  # type: ignore[attr-defined]
    policy, tz = Policy.from_settings(settings), settings.tz
    day = local_today(tz)
    cache = CoverageCache()
    whole, unit = cache.get(engine, day, None, policy, tz), cache.get(engine, day, "PB01", policy, tz)
    assert unit.snapshot is whole.snapshot  # one snapshot of the whole tree for the day
    assert cache.get(engine, day, "PB01", policy, tz) is unit  # nothing changed: kept
    with reading(engine) as session:
        report = figures_as_of(session, day, "PB01", policy=policy, tz=tz).coverage
    assert unit.coverage == report
    with pytest.raises(UnknownUnit):
        cache.get(engine, day, "NO-SUCH-UNIT", policy, tz)
