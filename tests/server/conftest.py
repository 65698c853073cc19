"""Server fixtures: a migrated database on SQLite and on PostgreSQL, an app client, small factories.

PostgreSQL tests get one uniquely named database per test session (other test runs share the server), and
each test starts from empty tables; ``new_postgres_database`` makes such databases, also as copies of a
template database. SQLite tests copy a database migrated once per session.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bench.harness import scratch_postgres
from server.config import Settings
from server.db import make_engine, upgrade
from server.main import create_app
from server.models import metadata
from tests.conftest import require_postgres


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the latest revision, copied by each test."""
    path = tmp_path_factory.mktemp("template") / "kiemke.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@contextmanager
def new_postgres_database(template: str | None = None) -> Iterator[str]:
    """URL of a new, uniquely named PostgreSQL database (a copy of ``template``'s when given); dropped after.

    The template must have no open connections while it is copied.
    """
    with scratch_postgres(require_postgres(), template, prefix="kiemke_test") as url:
        yield url


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this session, migrated; dropped at the end."""
    with new_postgres_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


def _empty_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database on each engine."""
    if request.param == "sqlite":
        target = tmp_path / "kiemke.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the test database."""
    eng = make_engine(database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings of a test server on the test database."""
    return Settings(environment="test", data_dir=tmp_path, database_url=database_url, max_report_bytes=64_000)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The API in-process."""
    app = create_app(settings)
    with TestClient(app) as test_client:
        yield test_client
    app.state.engine.dispose()
