"""Copy every table of one kiemke database into an empty one on another engine (SQLite to PostgreSQL).

The target is migrated to the latest revision first, then each table is copied in foreign-key order in
one transaction (a failure leaves the target empty), primary keys kept, so history, agents' key hashes,
users, the audit log and kept reports arrive unchanged. A column pointing at its own table (a unit's
parent) is filled in a second pass. On PostgreSQL the id sequences are then moved past the copied ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from server.db import writer
from server.models import metadata
from server.ops.backup import OperationError

BATCH = 2000
Progress = Callable[[str, int], None]


def tables() -> list[sa.Table]:
    """Every table of the schema, parents before children."""
    return list(metadata.sorted_tables)


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table."""
    with engine.connect() as conn:
        return {t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()) for t in tables()}


def _self_references(table: sa.Table) -> list[str]:
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


def _batches(conn: Connection, table: sa.Table) -> Iterator[list[dict[str, Any]]]:
    query = sa.select(table).order_by(*table.primary_key.columns)
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
    for part in result.partitions(BATCH):
        yield [dict(row._mapping) for row in part]


def _copy_table(source: Connection, target: Connection, table: sa.Table) -> int:
    own = _self_references(table)
    key = next(iter(table.primary_key.columns)).name
    later: list[dict[str, Any]] = []
    copied = 0
    for rows in _batches(source, table):
        if own:
            later.extend({"_id": r[key], **{c: r[c] for c in own}} for r in rows if any(r[c] is not None for c in own))
            rows = [{**r, **dict.fromkeys(own)} for r in rows]
        target.execute(table.insert(), rows)
        copied += len(rows)
    if later:
        update = table.update().where(table.c[key] == sa.bindparam("_id")).values(
            {c: sa.bindparam(c) for c in own})
        target.execute(update, later)
    return copied


def _fix_sequences(target: Connection) -> None:
    for table in tables():
        for column in table.primary_key.columns:
            if isinstance(column.type, sa.Integer) and column.autoincrement in (True, "auto"):
                sequence = sa.func.pg_get_serial_sequence(table.name, column.name)
                following = sa.func.coalesce(sa.func.max(column), 0) + 1
                target.execute(sa.select(sa.func.setval(sequence, following, False)).select_from(table))


def copy_database(source: Engine, target: Engine, progress: Progress | None = None) -> dict[str, int]:
    """Copy every row of ``source`` into the empty, migrated ``target``; returns rows per table."""
    non_empty = {name: n for name, n in row_counts(target).items() if n}
    if non_empty:
        listed = ", ".join(f"{name} ({n})" for name, n in sorted(non_empty.items()))
        raise OperationError(f"the target database is not empty: {listed}")
    copied: dict[str, int] = {}
    with source.connect() as src, writer(target).begin() as dst:
        for table in tables():
            copied[table.name] = _copy_table(src, dst, table)
            if progress is not None:
                progress(table.name, copied[table.name])
        if dst.dialect.name == "postgresql":
            _fix_sequences(dst)
    return copied
