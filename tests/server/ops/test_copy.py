"""``db copy --to URL``: a district moved from SQLite keeps every row, its figures for past dates and its keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.cli import main
from server.db import make_engine, reading, upgrade, writing
from server.models import AntivirusLicence, OrgUnit, table_of
from server.ops.copy import row_counts
from server.services.enrolment import authenticate
from server.services.records import save_licence
from server.services.users import create_user
from tests.server.conftest import new_postgres_database
from tests.server.factories import T0, enrolled_agent, make_unit
from tests.server.ops.conftest import deliver

CUT_OFFS = ("2024-05-01", "2024-06-15", "2024-08-01")


@pytest.fixture(params=["postgresql", "sqlite"])
def target_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each engine, not yet migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'target' / 'kiemke.db'}"
        return
    with new_postgres_database() as url:
        yield url


@pytest.fixture
def history(district_file: tuple[Path, Engine]) -> tuple[Path, Engine, str]:
    """The district with three months of history, a licence, a user, an agent key, audit and a kept report."""
    path, engine = district_file
    # a unit whose parent has a higher id: the copy must not trip over the order of rows
    make_unit(engine, "TRUONG-1", kind="school", at=T0)
    make_unit(engine, "PHONG-GD", kind="department", parent="UBND", at=T0)
    school = make_unit(engine, "TRUONG-1", kind="school", parent="PHONG-GD", at=T0 + timedelta(days=1), staff=30)
    for day in (3, 40, 80):
        deliver(engine, school, f"school-pc-{day}", day, bios_date=date(2012 + day // 20, 1, 1))
    deliver(engine, school, "school-pc-3", 60, av_enabled=False)
    make_unit(engine, "XA-01", kind="commune", parent="UBND", staff=9, lan=True, at=T0 + timedelta(days=50))
    with writing(engine) as session:
        save_licence(session, AntivirusLicence(product="Bkav Pro", seats=3, valid_from=date(2024, 6, 1),
                                               valid_to=date(2025, 5, 31)), T0 + timedelta(days=30))
    create_user(engine, "canbo", "mat-khau-dai-du-12", "officer", "XA-01", actor="test")
    _, key = enrolled_agent(engine, "XA-01", machine_id="pc-2")
    return path, engine, key


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    code = main([*argv, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    data: dict[str, object] = json.loads(out.out)
    return data


def figures_on(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str | None) -> list[object]:
    if url is None:
        monkeypatch.delenv("KIEMKE_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("KIEMKE_DATABASE_URL", url)
    return [run_json(capsys, "figures", "--as-of", day, "--per-unit") for day in CUT_OFFS]


def test_copy_keeps_every_row_the_figures_of_past_dates_and_the_keys(
        history: tuple[Path, Engine, str], target_url: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, source, key = history
    assert main(["report", "--as-of", "2024-06-15", "--keep", "--out", str(Path(str(source.url.database)).parent
                                                                            / "r.md")]) == 0
    capsys.readouterr()
    before = figures_on(capsys, monkeypatch, None)
    assert before[0] != before[1] != before[2]  # the history shows: each cut-off has its own figures

    out = run_json(capsys, "db", "copy", "--to", target_url)
    target = make_engine(target_url)
    try:
        counts = row_counts(source)
        assert out["tables"] == counts and row_counts(target) == counts
        for table in ("observation", "org_unit_version", "agent", "app_user", "audit_log", "report_snapshot",
                      "antivirus_licence_version", "received_report"):
            assert counts[table] > 0, table
        assert figures_on(capsys, monkeypatch, target_url) == before

        with reading(target) as session:
            agent = authenticate(session, key)
            assert agent is not None and agent.machine_id == "pc-2"
        # the ids go on after the copied ones (PostgreSQL sequences moved past them)
        new_unit = make_unit(target, "XA-NEW", kind="commune")
        with target.connect() as conn:
            assert new_unit > conn.execute(sa.select(sa.func.max(table_of(OrgUnit).c.id)).where(
                table_of(OrgUnit).c.code != "XA-NEW")).scalar_one()
    finally:
        target.dispose()


def test_copy_refuses_a_target_that_is_not_empty(history: tuple[Path, Engine, str], target_url: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    target = make_engine(target_url)
    try:
        upgrade(target)
        make_unit(target, "ALREADY")
        code = main(["db", "copy", "--to", target_url])
        assert code == 2 and "not empty" in capsys.readouterr().err
        assert row_counts(target)["org_unit"] == 1
    finally:
        target.dispose()
