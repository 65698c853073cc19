"""The database: SQLite pragmas, migrations that are idempotent, tables for every model."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.db import current_revision, head_revision, make_engine, open_database, upgrade
from server.models import metadata


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/nested/k.db")  # the directory is created
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()


def test_migrations_create_every_table_and_are_idempotent(engine: Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == head_revision() == "0010"
    tables = set(sa.inspect(engine).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= tables


def test_open_database_creates_a_new_file(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/fresh.db")
    assert current_revision(engine) == head_revision() == "0010"
    engine.dispose()


def test_migrations_match_the_models(engine: Engine) -> None:
    """A model changed without a migration would show here as a difference."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    ours = set(metadata.tables) | {"alembic_version"}

    def include(obj: object, name: str | None, kind: str, reflected: bool, compare_to: object) -> bool:
        # Tables another part keeps outside the shared metadata (server/report/store.py) are not ours.
        table = name if kind == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table is None or table in ours

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include})
        assert compare_metadata(context, metadata) == []



@pytest.mark.parametrize("year", [1, 99, 999, 2099, 9999])
def test_every_timestamp_round_trips(engine: Engine, year: int) -> None:
    """Years below 1000 were written unpadded on SQLite ("Invalid isoformat string" on every page after)."""
    from datetime import datetime, timezone

    import sqlalchemy as sa

    from server.models import UTCDateTime
    from server.services.ingest_sql import bind, read, run, sql

    stamp = datetime(year, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    table = sa.Table("stamp_probe", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("at", UTCDateTime()))
    with engine.begin() as conn:
        table.create(conn)
        conn.execute(table.insert().values(id=1, at=stamp))  # through SQLAlchemy
        # and through the ingest hot path's driver cursor, with the column type's conversion
        run(conn, sql(conn, "INSERT INTO stamp_probe (id, at) VALUES (2, :at)"), {"at": bind(conn, table.c.at, stamp)})
    with engine.connect() as conn:
        assert list(conn.execute(sa.select(table.c.at).order_by(table.c.id)).scalars()) == [stamp, stamp]
        raw = conn.execute(sa.text("SELECT at FROM stamp_probe WHERE id = 2")).scalar_one()
        assert read(conn, table.c.at, raw) == stamp
    with engine.begin() as conn:
        table.drop(conn)
