"""Carrying a ``WritePlan`` out: the ingest hot path's statements, run on the driver's own cursor.

A routine report needs a handful of small statements; through SQLAlchemy's execution each would cost more
Python time than the database spends on it. So they run on the driver's cursor inside the caller's
SQLAlchemy transaction, but nothing about them is hand-kept: the column lists come from the tables, the
values are converted by the columns' own types (``UTCDateTime``, ``Uuid``, ``Boolean``: exactly what an ORM
write stores), the parameter style is the dialect's, and a driver error is raised as SQLAlchemy's
(``IntegrityError``, ``OperationalError``, ...) so that callers tell errors apart by class.

Two executors carry a plan out: on SQLite one statement after another (in-process calls); on PostgreSQL one
statement of data-modifying CTEs (one round trip), which a batch may also defer to one ``executemany`` per
statement shape (``Deferred``, ``flush``). A first report's lookups (serial, monitors) and new devices run
here too: a device and its first version are one statement on PostgreSQL.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from server.models import (
    Agent,
    Device,
    DeviceFacts,
    MonitorSighting,
    Observation,
    ReceivedReport,
    table_of,
)
from server.services.ingest_plan import DeviceRow, NewDevice, ReportRow, WritePlan
from server.services.state import COMPUTER_KINDS

_AGENT_T = table_of(Agent)
_DEVICE_T = table_of(Device)
_REPORT_T = table_of(ReceivedReport)
_OBSERVATION_T = table_of(Observation)
_SIGHTING_T = table_of(MonitorSighting)


class AgentRow(NamedTuple):
    """What ingest reads of an agent: its key's hash, whether it is revoked, where it belongs."""

    key_hash: str
    revoked_at: datetime | None
    unit_id: int
    device_id: int | None
    machine_id: str | None  # the machine it is bound to
    created_at: datetime | None  # its enrolment


# --- the driver, with SQLAlchemy's conversions and errors ---------------------------------------------------


def cursor(conn: Connection) -> Any:
    """A cursor of the driver connection under ``conn``, in its transaction."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


@contextmanager
def driver_errors(conn: Connection, statement: str) -> Iterator[None]:
    """Raise the driver's errors as SQLAlchemy's exception classes (IntegrityError, OperationalError, ...)."""
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi_error, dialect=conn.dialect) from exc


def run(conn: Connection, statement: str, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] = (), *,
        many: bool = False, returning: bool = False) -> Any:
    """Execute ``statement`` (in the driver's parameter style) on a new cursor; the cursor."""
    cur = cursor(conn)
    with driver_errors(conn, statement):
        if not many:
            cur.execute(statement, params)
        elif returning:  # psycopg: one result set per parameter set
            cur.executemany(statement, params, returning=True)
        else:
            cur.executemany(statement, params)
    return cur


@functools.lru_cache(maxsize=256)
def _compiled(dialect: Dialect, text: str) -> str:
    # sqlite3 takes :name as written; other drivers get the dialect's own style (psycopg: %(name)s).
    if dialect.name == "sqlite":
        return text
    return str(sa.text(text).compile(dialect=dialect))


def sql(conn: Connection, text: str) -> str:
    """``text`` with ``:name`` placeholders in the driver's parameter style."""
    return _compiled(conn.dialect, text)


Processor = Callable[[Any], Any] | None


@functools.lru_cache(maxsize=64)
def _binders(dialect: Dialect, table: sa.Table) -> dict[str, Processor]:
    return {c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns}


@functools.lru_cache(maxsize=64)
def _readers(dialect: Dialect, table: sa.Table) -> dict[str, Processor]:
    return {c.name: c.type.dialect_impl(dialect).result_processor(dialect, None) for c in table.columns}


def bind(conn: Connection, column: sa.Column[Any], value: Any) -> Any:
    """``value`` as the driver takes it for ``column`` (what SQLAlchemy would bind)."""
    process = _binders(conn.dialect, column.table)[column.name]
    return value if process is None or value is None else process(value)


def bind_row(conn: Connection, table: sa.Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of Python values converted by its columns' types."""
    binders = _binders(conn.dialect, table)
    out = {}
    for name, value in row.items():
        process = binders[name]
        out[name] = value if process is None or value is None else process(value)
    return out


def read(conn: Connection, column: sa.Column[Any], value: Any) -> Any:
    """A value the driver returned for ``column`` as SQLAlchemy would return it."""
    process = _readers(conn.dialect, column.table)[column.name]
    return value if process is None or value is None else process(value)


def _read(conn: Connection, columns: Sequence[sa.Column[Any]], raw: Sequence[Any]) -> list[Any]:
    return [read(conn, column, value) for column, value in zip(columns, raw, strict=True)]


# --- reads -------------------------------------------------------------------------------------------------

_AGENT_COLUMNS = tuple(_AGENT_T.c[name] for name in AgentRow._fields)
_DEVICE_COLUMNS = tuple(_DEVICE_T.c[name] for name in DeviceRow._fields)
_A = ", ".join(f"a.{name}" for name in AgentRow._fields)
_D = ", ".join(f"d.{name}" for name in DeviceRow._fields)
_SELECT_AGENT = f"SELECT {_A} FROM agent a WHERE a.id = :id"  # noqa: S608 - column names of the tables
_SELECT_DEVICE = f"SELECT {_D} FROM device d WHERE d.machine_id = :machine"  # noqa: S608
_AGENT_AND_DEVICE = (f"SELECT {_A}, {_D} FROM agent a LEFT JOIN device d ON d.machine_id = :machine "  # noqa: S608
                     "WHERE a.id = :id")
_PREFETCH_SQL = (
    f"SELECT v.agent, v.machine, {_A}, {_D} "  # noqa: S608
    "FROM unnest(%(agents)s::uuid[], %(machines)s::text[]) AS v(agent, machine) "
    "JOIN agent a ON a.id = v.agent LEFT JOIN device d ON d.machine_id = v.machine"
)
PREFETCH = "kiemke_prefetch"  # key in Connection.info of a batch's looked-up agents and devices


def _agent(conn: Connection, raw: Sequence[Any]) -> AgentRow:
    return AgentRow(*_read(conn, _AGENT_COLUMNS, raw))


def _device(conn: Connection, raw: Sequence[Any]) -> DeviceRow | None:
    return None if raw[0] is None else DeviceRow(*_read(conn, _DEVICE_COLUMNS, raw))


def agent_row(conn: Connection, agent_id: uuid.UUID) -> AgentRow | None:
    """An agent's row."""
    row = run(conn, sql(conn, _SELECT_AGENT), {"id": bind(conn, _AGENT_T.c.id, agent_id)}).fetchone()
    return None if row is None else _agent(conn, row)


def device_by_machine(conn: Connection, machine_id: str) -> DeviceRow | None:
    """The device row of this machine."""
    row = run(conn, sql(conn, _SELECT_DEVICE), {"machine": machine_id}).fetchone()
    return None if row is None else _device(conn, row)


def prefetch(conn: Connection, pairs: list[tuple[uuid.UUID, str]]) -> None:
    """Look up a whole batch's agents and devices in one round trip (PostgreSQL only).

    ``agent_and_device`` then takes each answer once: a second report for the same machine in the batch
    reads the device again, as the first one has changed it.
    """
    if conn.dialect.name != "postgresql" or not pairs:
        return
    rows = run(conn, _PREFETCH_SQL, {"agents": [a for a, _ in pairs], "machines": [m for _, m in pairs]})
    width = len(AgentRow._fields)
    conn.info[PREFETCH] = {
        (row[0], row[1]): (_agent(conn, row[2:2 + width]), _device(conn, row[2 + width:]))
        for row in rows.fetchall()
    }


def agent_and_device(conn: Connection, agent_id: uuid.UUID, machine_id: str
                     ) -> tuple[AgentRow, DeviceRow | None] | None:
    """The agent's row and the device row of ``machine_id`` in one round trip; None without such agent."""
    cached = conn.info.get(PREFETCH)
    if cached is not None:
        hit = cached.pop((agent_id, machine_id), None)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
    row = run(conn, sql(conn, _AGENT_AND_DEVICE),
              {"id": bind(conn, _AGENT_T.c.id, agent_id), "machine": machine_id}).fetchone()
    if row is None:
        return None
    width = len(AgentRow._fields)
    return _agent(conn, row[:width]), _device(conn, row[width:])


# --- new devices -------------------------------------------------------------------------------------------

_FACT_FIELDS = tuple(DeviceFacts.model_fields)
_NEW_DEVICE_COLUMNS = tuple(c.name for c in _DEVICE_T.columns if c.name != "id")
# Core applies a column's Python-side default (reports_received = 0, status = in_use); a plain insert must too.
_DEVICE_DEFAULTS = {c.name: c.default.arg if isinstance(c.default, ScalarElementColumnDefault) else None
                    for c in _DEVICE_T.columns if c.name != "id"}
_INSERT_DEVICE = (f"INSERT INTO device ({', '.join(_NEW_DEVICE_COLUMNS)}) "  # noqa: S608 - column names
                  f"VALUES ({', '.join(':' + c for c in _NEW_DEVICE_COLUMNS)})")
_VERSION_COLUMNS = (*_FACT_FIELDS, "device_id", "valid_from")
_INSERT_VERSION = (f"INSERT INTO device_version ({', '.join(_VERSION_COLUMNS)}) "  # noqa: S608
                   f"VALUES ({', '.join(':' + c for c in _VERSION_COLUMNS)})")
# PostgreSQL: the device and its first version in one statement, the version copied from the inserted row.
_INSERT_DEVICE_AND_VERSION = (
    f"WITH dev AS ({_INSERT_DEVICE} RETURNING id, {', '.join(_FACT_FIELDS)}, created_at) "  # noqa: S608
    f"INSERT INTO device_version ({', '.join(_VERSION_COLUMNS)}) "
    f"SELECT {', '.join(_FACT_FIELDS)}, id, created_at FROM dev RETURNING device_id"
)


def create_device(conn: Connection, new: NewDevice) -> int:
    """Insert a device and its first version (valid from ``new.at``); its id.

    On PostgreSQL one statement. A machine or monitor created meanwhile by another process trips the unique
    ``machine_id`` / ``edid_key`` (an IntegrityError: the caller's retry finds it).
    """
    given = {name: value for name, value in new._asdict().items() if name != "at"}
    row = bind_row(conn, _DEVICE_T, {**_DEVICE_DEFAULTS, **given, "created_at": new.at, "updated_at": new.at})
    if conn.dialect.name == "sqlite":
        device_id = int(run(conn, _INSERT_DEVICE, row).lastrowid)
        version = {name: row[name] for name in _FACT_FIELDS}
        run(conn, _INSERT_VERSION, {**version, "device_id": device_id, "valid_from": row["created_at"]})
        return device_id
    return int(run(conn, sql(conn, _INSERT_DEVICE_AND_VERSION), row).fetchone()[0])


_COMPUTERS = ", ".join(f"'{kind}'" for kind in sorted(COMPUTER_KINDS))
_ADOPTABLE_SQL = (
    f"SELECT {_D}, CASE WHEN d.machine_id IS NULL AND d.unit_id = :unit THEN 1 ELSE 0 END AS adoptable "  # noqa: S608
    f"FROM device d WHERE d.serial_key = :serial AND d.kind IN ({_COMPUTERS}) "
    "ORDER BY adoptable DESC, d.id LIMIT 1"
)


def computer_by_serial(conn: Connection, serial_key: str, unit_id: int | None) -> tuple[DeviceRow, bool] | None:
    """The computer with this serial, and whether the unit may adopt it (hand-entered there: no machine id)."""
    row = run(conn, sql(conn, _ADOPTABLE_SQL), {"serial": serial_key, "unit": unit_id}).fetchone()
    if row is None:
        return None
    device = _device(conn, row[:-1])
    assert device is not None
    return device, bool(row[-1])


class MonitorRow(NamedTuple):
    """A monitor's device as its lookup finds it."""

    id: int
    edid_key: str | None
    serial_key: str | None
    created_at: datetime | None


_MONITOR_COLUMNS = tuple(_DEVICE_T.c[name] for name in MonitorRow._fields)


@functools.lru_cache(maxsize=64)
def _monitor_lookup(keys: int, serials: int) -> str:
    wanted = f"edid_key IN ({', '.join(f':k{n}' for n in range(keys))})"
    if serials:  # a hand-entered monitor with the serial is the same monitor
        wanted += (f" OR (kind = 'monitor' AND edid_key IS NULL "
                   f"AND serial_key IN ({', '.join(f':s{n}' for n in range(serials))}))")
    return f"SELECT {', '.join(MonitorRow._fields)} FROM device WHERE {wanted} ORDER BY id"  # noqa: S608


def monitors_by_identity(conn: Connection, keys: Sequence[str], serials: Sequence[str]) -> list[MonitorRow]:
    """Monitors with these EDID keys, and hand-entered monitors (no EDID key yet) with these serials."""
    params = {**{f"k{n}": key for n, key in enumerate(keys)}, **{f"s{n}": s for n, s in enumerate(serials)}}
    rows = run(conn, sql(conn, _monitor_lookup(len(keys), len(serials))), params).fetchall()
    return [MonitorRow(*_read(conn, _MONITOR_COLUMNS, row)) for row in rows]


# --- the executors -------------------------------------------------------------------------------------------

_REPORT_COLUMNS = ReportRow._fields
_INSERT_REPORT = (
    f"INSERT INTO received_report ({', '.join(_REPORT_COLUMNS)}) "  # noqa: S608 - column names of the table
    f"VALUES ({', '.join(':' + c for c in _REPORT_COLUMNS)}) ON CONFLICT (report_id) DO NOTHING RETURNING id"
)
_UPDATE_AGENT = "UPDATE agent SET last_seen = :now, device_id = :device_id, machine_id = :machine WHERE id = :agent"
_OBSERVATION_COLUMNS = tuple(c.name for c in _OBSERVATION_T.columns if c.name != "id")
_SIGHTING_COLUMNS = ("observation_id", "host_id", "monitor_id", "observed_at", "year")
_INSERT_SIGHTING = (f"INSERT INTO monitor_sighting ({', '.join(_SIGHTING_COLUMNS)}) "  # noqa: S608
                    f"VALUES ({', '.join(':' + c for c in _SIGHTING_COLUMNS)})")
_INSERT_OBSERVATION = (f"INSERT INTO observation ({', '.join(_OBSERVATION_COLUMNS)}) "  # noqa: S608
                       f"VALUES ({', '.join(':' + c for c in _OBSERVATION_COLUMNS)})")


@functools.cache
def _device_update(machine: bool, bios: bool, hostname: bool, latest: bool) -> str:
    # Every "latest" column is decided by SQL against the row's current value: concurrent reports for one
    # device, serialised by the row lock, can then never move it backwards.
    sets = [
        "reports_received = reports_received + 1",
        "last_seen = CASE WHEN last_seen IS NULL OR last_seen < :collected THEN :collected ELSE last_seen END",
        "first_seen = CASE WHEN first_seen IS NULL OR first_seen > :collected THEN :collected ELSE first_seen END",
    ]
    if machine:
        sets.append("machine_id = :machine")
    if bios:
        sets.append("earliest_bios_date = CASE WHEN earliest_bios_date IS NULL OR earliest_bios_date > :bios "
                    "THEN :bios ELSE earliest_bios_date END")
    if hostname:
        sets.append("hostname = CASE WHEN last_seen IS NULL OR last_seen <= :collected THEN :hostname "
                    "ELSE hostname END")
    if latest:
        sets.append("last_hash = CASE WHEN last_observed_at IS NULL OR last_observed_at <= :collected THEN :hash "
                    "ELSE last_hash END")
        for column in ("monitor_key", "monitor_ids"):  # before last_observed_at: every SET reads the old row
            sets.append(f"{column} = CASE WHEN last_observed_at IS NULL OR last_observed_at <= :collected "
                        f"THEN :{column} ELSE {column} END")
        sets.append("last_observed_at = CASE WHEN last_observed_at IS NULL OR last_observed_at < :collected "
                    "THEN :collected ELSE last_observed_at END")
    return f"UPDATE device SET {', '.join(sets)} WHERE id = :device"  # noqa: S608 - fixed fragments above


def _device_params(conn: Connection, plan: WritePlan) -> tuple[str, dict[str, Any]]:
    u = plan.device
    c = _DEVICE_T.c
    params: dict[str, Any] = {"device": u.device_id, "collected": bind(conn, c.last_seen, u.collected)}
    if u.machine is not None:
        params["machine"] = u.machine
    if u.bios is not None:
        params["bios"] = bind(conn, c.earliest_bios_date, u.bios)
    if u.hostname is not None:
        params["hostname"] = u.hostname
    if u.digest is not None:
        params.update(hash=u.digest, monitor_key=u.monitor_key, monitor_ids=u.monitor_ids)
    statement = _device_update(u.machine is not None, u.bios is not None, u.hostname is not None,
                               u.digest is not None)
    return statement, params


def _agent_params(conn: Connection, plan: WritePlan) -> dict[str, Any]:
    a = plan.agent
    if a is None:
        return {}
    return {"now": bind(conn, _AGENT_T.c.last_seen, a.now), "agent": bind(conn, _AGENT_T.c.id, a.agent_id),
            "machine": a.machine_id, "device_id": a.device_id}


def _execute_sqlite(conn: Connection, plan: WritePlan) -> bool:
    if run(conn, _INSERT_REPORT, bind_row(conn, _REPORT_T, plan.report._asdict())).fetchone() is None:
        return False
    run(conn, *_device_params(conn, plan))
    if plan.agent is not None:
        run(conn, _UPDATE_AGENT, _agent_params(conn, plan))
    if plan.observation is not None:
        cur = run(conn, _INSERT_OBSERVATION, bind_row(conn, _OBSERVATION_T, plan.observation.values()))
        if plan.sightings:
            host, at = plan.observation.device_id, bind(conn, _SIGHTING_T.c.observed_at, plan.observation.observed_at)
            run(conn, _INSERT_SIGHTING, [
                {"observation_id": cur.lastrowid, "host_id": host, "monitor_id": s.monitor_id, "observed_at": at,
                 "year": s.year} for s in plan.sightings
            ], many=True)
    return True


@functools.cache
def _casts() -> dict[str, str]:
    from sqlalchemy.dialects import postgresql

    pg: Any = postgresql.dialect()  # type: ignore[no-untyped-call]
    return {c.name: c.type.compile(dialect=pg) for c in _OBSERVATION_T.columns}


@functools.cache
def _postgres_statement(device_sql: str, agent: bool, observation: bool, sightings: bool) -> str:
    # One statement: the updates and inserts apply only when the report's row was inserted, i.e. when it was
    # not recorded before. Shared names (device_id, report_id, received_at, hostname, machine) carry equal
    # values in every part.
    guard = " AND EXISTS (SELECT 1 FROM ins)"
    parts = [f"WITH ins AS ({_INSERT_REPORT})", f"dev AS ({device_sql}{guard} RETURNING id)"]
    if agent:
        parts.append(f"agt AS ({_UPDATE_AGENT}{guard} RETURNING id)")
    if observation:
        # Casts, because in INSERT ... SELECT PostgreSQL cannot infer a parameter's type from the column.
        types = _casts()
        values = ", ".join(f"CAST(:{c} AS {types[c]})" for c in _OBSERVATION_COLUMNS)
        parts.append(f"obs AS (INSERT INTO observation ({', '.join(_OBSERVATION_COLUMNS)}) "  # noqa: S608
                     f"SELECT {values} WHERE EXISTS (SELECT 1 FROM ins) RETURNING id)")
    if sightings:  # the monitors it shows: (monitor id, year) pairs as two arrays
        parts.append(f"sig AS (INSERT INTO monitor_sighting ({', '.join(_SIGHTING_COLUMNS)}) "  # noqa: S608
                     "SELECT obs.id, CAST(:device_id AS INTEGER), m.monitor, "
                     "CAST(:observed_at AS TIMESTAMP WITHOUT TIME ZONE), m.year FROM obs, "
                     "unnest(CAST(:sighting_monitors AS INTEGER[]), CAST(:sighting_years AS INTEGER[])) "
                     "AS m(monitor, year))")
    return ", ".join(parts) + " SELECT count(*) FROM ins"  # noqa: S608 - fragments of this module


@dataclass
class Deferred:
    """A routine report's writes, kept for one ``executemany`` with the rest of its batch (PostgreSQL)."""

    sql: str
    params: dict[str, Any]
    recorded: bool | None = None  # set by flush: False when the report_id was already recorded


DEFER = "kiemke_defer"  # key in Connection.info of the batch's list of Deferred writes


def _execute_postgres(conn: Connection, plan: WritePlan, defer: bool) -> bool:
    device_sql, params = _device_params(conn, plan)
    values = {**bind_row(conn, _REPORT_T, plan.report._asdict()), **params, **_agent_params(conn, plan)}
    if plan.observation is not None:
        values.update(bind_row(conn, _OBSERVATION_T, plan.observation.values()))
        if plan.sightings:
            values["sighting_monitors"] = [s.monitor_id for s in plan.sightings]
            values["sighting_years"] = [s.year for s in plan.sightings]
    statement = sql(conn, _postgres_statement(device_sql, plan.agent is not None, plan.observation is not None,
                                              bool(plan.sightings)))
    deferred = conn.info.get(DEFER)
    if defer and deferred is not None:
        deferred.append(Deferred(statement, values))
        return True
    row = run(conn, statement, values).fetchone()
    return bool(row and row[0])


def execute(conn: Connection, plan: WritePlan, *, defer: bool = False) -> bool:
    """Carry ``plan`` out: record the report, count it on its device, note its agent, append its observation
    and sightings; False (nothing written) when the report was recorded before.

    With ``defer`` on PostgreSQL inside a batch, the writes join the batch's list and True is returned: the
    batch learns at its ``flush`` whether the report was new.
    """
    if conn.dialect.name == "sqlite":
        return _execute_sqlite(conn, plan)
    return _execute_postgres(conn, plan, defer)


def flush(conn: Connection, deferred: list[Deferred]) -> None:
    """Run deferred writes, one ``executemany`` per statement shape, and note which reports were new."""
    shapes: dict[str, list[Deferred]] = {}
    for item in deferred:
        shapes.setdefault(item.sql, []).append(item)
    for statement, items in shapes.items():
        cur = run(conn, statement, [item.params for item in items], many=True, returning=True)
        for item in items:
            row = cur.fetchone()
            item.recorded = bool(row and row[0])
            cur.nextset()
