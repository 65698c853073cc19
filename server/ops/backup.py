"""SQLite backup and restore with SQLite's own backup API (consistent while the server writes).

A backup is one self-contained file (rollback journal, no ``-wal``): it reads one snapshot in a single
step, which in WAL mode does not hold up the server's writers. Restore checks that the file is a kiemke
database at a revision this code knows, refuses to replace a database that a process has open unless
forced, copies it in with the same API and upgrades it to the latest schema. PostgreSQL is backed up with
``pg_dump`` (see deploy/README.md).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

SQLITE_MAGIC = b"SQLite format 3\x00"
#: Tables every kiemke database has had since its first revision.
CORE_TABLES = frozenset({"org_unit", "device", "observation", "received_report", "agent", "app_user", "audit_log"})


class OperationError(Exception):
    """An operation the command refuses, with the reason for a person."""


@dataclass(frozen=True)
class BackupResult:
    """What was written."""

    out: Path
    bytes: int
    revision: str | None


@dataclass(frozen=True)
class RestoreResult:
    """What was restored, and the schema revision before and after the upgrade."""

    database: Path
    from_revision: str
    to_revision: str | None


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for other engines (or an in-memory database)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return str(row[0]) if row else None


def backup_sqlite(database: Path, out: Path) -> BackupResult:
    """Copy ``database`` into the new file ``out`` in one consistent read."""
    if not database.is_file():
        raise OperationError(f"{database} does not exist")
    if out.exists():
        raise OperationError(f"{out} exists: choose a new file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(partial)
    try:
        source.backup(target)  # all pages in one step: one snapshot, even while others write
        target.execute("PRAGMA journal_mode=DELETE")  # one file, readable on its own
        revision = _revision(target)
    finally:
        target.close()
        source.close()
    os.replace(partial, out)
    return BackupResult(out=out, bytes=out.stat().st_size, revision=revision)


def check_backup(path: Path, known: set[str]) -> str:
    """The revision of the kiemke database in ``path``; raises ``OperationError`` for anything else."""
    if not path.is_file():
        raise OperationError(f"{path} does not exist")
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise OperationError(f"{path} is not a SQLite database")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if conn.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise OperationError(f"{path} is damaged (SQLite's quick_check failed)")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        revision = _revision(conn)
    finally:
        conn.close()
    if not tables >= CORE_TABLES or revision is None:
        raise OperationError(f"{path} is not a kiemke database (no kiemke tables or schema revision)")
    if revision not in known:
        raise OperationError(f"{path} is at schema revision {revision}, which this version does not know: "
                             "restore it with the kiemke version that made it")
    return revision


def in_use(database: Path) -> bool:
    """Whether another connection (a running server, a command) has ``database`` open.

    A WAL-mode connection holds a shared lock on the file while it is open; an exclusive lock is then refused.
    """
    if not database.exists():
        return False
    probe = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        probe.execute("PRAGMA locking_mode=EXCLUSIVE")
        probe.execute("BEGIN EXCLUSIVE")
        probe.execute("ROLLBACK")
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()
    return False


def restore_sqlite(backup: Path, database: Path, known: set[str], *, force: bool = False) -> str:
    """Replace ``database`` with the kiemke database in ``backup``; returns the backup's revision."""
    revision = check_backup(backup, known)
    if backup.resolve() == database.resolve():
        raise OperationError("the backup is the database itself")
    if not force and in_use(database):
        raise OperationError(f"{database} is in use (is the server running?): stop it first, or pass --force")
    database.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    target = sqlite3.connect(database, timeout=30)
    try:
        target.execute("PRAGMA journal_mode=WAL")
        source.backup(target)  # under the target's lock: a process with it open sees the restored pages
    finally:
        target.close()
        source.close()
    return revision


def known_revisions() -> set[str]:
    """Every schema revision this code can upgrade from."""
    from alembic.script import ScriptDirectory

    import server.db

    scripts = ScriptDirectory(str(Path(server.db.__file__).with_name("migrations")))
    return {script.revision for script in scripts.walk_revisions()}
