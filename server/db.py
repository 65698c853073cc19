"""Engines and sessions; SQLite pragmas; PostgreSQL pool; migrations run on first use.

SQLite runs in WAL mode with a busy timeout, and write transactions open with ``BEGIN IMMEDIATE``
(``writing(engine)``): a deferred transaction that reads and then writes fails at once with "database is
locked" when another connection committed in between, whatever the busy timeout.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

_IMMEDIATE = "kiemke_immediate"
_upgraded: set[str] = set()
_upgrade_lock = threading.Lock()
_write_locks: dict[str, threading.Lock] = {}
_MIGRATION_LOCK_ID = 0x6B6B_0001  # PostgreSQL advisory lock: one process migrates at a time


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for ``url`` with the pragmas (SQLite) or the pool (PostgreSQL) this server needs."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _sqlite_events(engine)
        return engine
    return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _sqlite_events(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself (below)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent; only the last commits risk a crash
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writer(engine: Engine) -> Engine:
    """The same engine whose transactions take the write lock at once on SQLite (no-op elsewhere)."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{_IMMEDIATE: True})
    return engine


def write_lock(engine: Engine) -> AbstractContextManager[object]:
    """Serialises this process's SQLite writers on a Python lock (nothing to do elsewhere).

    SQLite admits one writer; threads waiting in its busy handler sleep in growing steps and wake late, so
    queueing on a lock keeps one process's writers back to back. Other processes still meet the busy timeout.
    """
    if engine.dialect.name != "sqlite":
        return nullcontext()
    key = str(engine.url)
    with _upgrade_lock:
        lock = _write_locks.setdefault(key, threading.Lock())
    return lock


@contextmanager
def writing(engine: Engine) -> Iterator[Session]:
    """A session for one write transaction: committed on success, rolled back on any error."""
    with write_lock(engine), Session(writer(engine), expire_on_commit=False) as session, session.begin():
        yield session


@functools.lru_cache(maxsize=64)
def one_statement(engine: Engine) -> Engine:
    """The engine for a read made of one statement, which is its own consistent snapshot: on PostgreSQL without
    the BEGIN and ROLLBACK round trips around it (a third of a millisecond on every console request)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A session for reads (one consistent transaction)."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


def _alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return config


def head_revision() -> str | None:
    """The latest migration this code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema with Alembic; cheap when already at ``head`` in this process."""
    from alembic import command

    key = str(engine.url)
    with _upgrade_lock:
        if key in _upgraded and revision == "head":
            return
        config = _alembic_config()
        with writer(engine).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
        _upgraded.add(key)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at; None when it has no schema yet."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def open_database(url: str) -> Engine:
    """An engine for ``url`` whose schema is at the latest revision (created on first use)."""
    engine = make_engine(url)
    upgrade(engine)
    return engine
