"""The ingest hot path's SQL, run on the driver's own cursor inside the caller's SQLAlchemy transaction.

A routine report needs six small statements. Through SQLAlchemy each costs more Python time than the
database spends on it, which would make the server several times slower than its HTTP layer; here they
are plain SQL with the few type conversions SQLAlchemy would do, kept equal to what the models store
(``sa.Uuid`` as 32 hex digits on SQLite, timestamps as naive UTC text or ``timestamp``). Rare paths (new
device, serial match, late report) stay in SQLAlchemy in ``ingest.py``.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy.engine import Connection

from server.models import sqlite_timestamp

# id, machine_id, last_hash, last_seen, created_at, monitor_key, monitor_ids, unit_id
DeviceRow = tuple[int, str | None, str | None, Any, Any, str | None, str | None, int]


class Dialect:
    """Parameter style and value conversions of one database driver."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sqlite = name == "sqlite"

    def sql(self, text: str) -> str:
        """``:name`` placeholders in the driver's style."""
        return text if self.sqlite else _pyformat(text)

    def ts(self, value: datetime | None) -> Any:
        """A timestamp as stored: naive UTC."""
        if value is None:
            return None
        utc = value.astimezone(timezone.utc).replace(tzinfo=None)
        return sqlite_timestamp(utc) if self.sqlite else utc

    def read_ts(self, value: Any) -> datetime | None:
        """A stored timestamp as aware UTC."""
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

    def uid(self, value: uuid.UUID | None) -> Any:
        """A UUID as stored."""
        if value is None:
            return None
        return value.hex if self.sqlite else value

    def day(self, value: date | None) -> Any:
        """A date as stored."""
        if value is None:
            return None
        return value.isoformat() if self.sqlite else value

    def flag(self, value: bool | None) -> Any:
        """A boolean as stored."""
        if value is None:
            return None
        return int(value) if self.sqlite else value

    def values(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Convert a row of Python values by their types."""
        out: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, bool):
                out[key] = self.flag(value)
            elif isinstance(value, datetime):
                out[key] = self.ts(value)
            elif isinstance(value, date):
                out[key] = self.day(value)
            elif isinstance(value, uuid.UUID):
                out[key] = self.uid(value)
            else:
                out[key] = value
        return out


@functools.cache
def _pyformat(text: str) -> str:
    return re.sub(r"(?<!:):(\w+)", r"%(\1)s", text)


@functools.cache
def dialect(name: str) -> Dialect:
    """The conversions for a dialect name."""
    return Dialect(name)


def cursor(conn: Connection) -> Any:
    """A cursor of the driver connection under ``conn``, in its transaction."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


_AGENT = "SELECT key_hash, revoked_at, unit_id, device_id, machine_id, created_at FROM agent WHERE id = :id"
_DEVICE = ("SELECT id, machine_id, last_hash, last_seen, created_at, monitor_key, monitor_ids, unit_id "
           "FROM device WHERE machine_id = :machine")
_REPORT_COLUMNS = ("report_id", "device_id", "agent_id", "collected_at", "received_at", "via", "signed",
                   "imported_by", "stored", "claimed_collected_at")
_INSERT_REPORT = (
    f"INSERT INTO received_report ({', '.join(_REPORT_COLUMNS)}) "  # noqa: S608 - names are constants here
    f"VALUES ({', '.join(':' + c for c in _REPORT_COLUMNS)}) ON CONFLICT (report_id) DO NOTHING RETURNING id"
)
_UPDATE_AGENT = "UPDATE agent SET last_seen = :now, device_id = :device, machine_id = :machine WHERE id = :agent"


def agent_row(conn: Connection, agent_id: uuid.UUID) -> AgentRow | None:
    """(key_hash, revoked_at, unit_id, device_id, machine_id, created_at) of an agent."""
    d = dialect(conn.dialect.name)
    cur = cursor(conn)
    cur.execute(d.sql(_AGENT), {"id": d.uid(agent_id)})
    row = cur.fetchone()
    return None if row is None else (row[0], row[1], row[2], row[3], row[4], d.read_ts(row[5]))


_AGENT_AND_DEVICE = (
    "SELECT a.key_hash, a.revoked_at, a.unit_id, a.device_id, a.machine_id, a.created_at, "
    "d.id, d.machine_id, d.last_hash, d.last_seen, d.created_at, d.monitor_key, d.monitor_ids, d.unit_id "
    "FROM agent a LEFT JOIN device d ON d.machine_id = :machine WHERE a.id = :id"
)


# key_hash, revoked_at, unit_id, device_id, machine_id (the one it is bound to), created_at (its enrolment)
AgentRow = tuple[str, Any, int, int | None, str | None, datetime | None]
PREFETCH = "kiemke_prefetch"  # key in Connection.info of a batch's looked-up agents and devices
_PREFETCH = (
    "SELECT v.agent, v.machine, a.key_hash, a.revoked_at, a.unit_id, a.device_id, a.machine_id, a.created_at, "
    "d.id, d.machine_id, d.last_hash, d.last_seen, d.created_at, d.monitor_key, d.monitor_ids, d.unit_id "
    "FROM unnest(%(agents)s::uuid[], %(machines)s::text[]) AS v(agent, machine) "
    "JOIN agent a ON a.id = v.agent LEFT JOIN device d ON d.machine_id = v.machine"
)


def prefetch(conn: Connection, pairs: list[tuple[uuid.UUID, str]]) -> None:
    """Look up a whole batch's agents and devices in one round trip (PostgreSQL only).

    ``agent_and_device`` then takes each answer once: a second report for the same machine in the batch
    reads the device again, as the first one has changed it.
    """
    if conn.dialect.name != "postgresql" or not pairs:
        return
    d = dialect(conn.dialect.name)
    cur = cursor(conn)
    cur.execute(_PREFETCH, {"agents": [a for a, _ in pairs], "machines": [m for _, m in pairs]})
    found: dict[tuple[uuid.UUID, str], tuple[AgentRow, DeviceRow | None]] = {}
    for row in cur.fetchall():
        device = None if row[8] is None else (row[8], row[9], row[10], d.read_ts(row[11]), d.read_ts(row[12]),
                                              row[13], row[14], row[15])
        found[(row[0], row[1])] = ((row[2], row[3], row[4], row[5], row[6], d.read_ts(row[7])), device)
    conn.info[PREFETCH] = found


def agent_and_device(
    conn: Connection, agent_id: uuid.UUID, machine_id: str
) -> tuple[AgentRow, DeviceRow | None] | None:
    """The agent's row and the device row of ``machine_id`` in one round trip; None without such agent."""
    cached = conn.info.get(PREFETCH)
    if cached is not None:
        hit = cached.pop((agent_id, machine_id), None)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
    d = dialect(conn.dialect.name)
    cur = cursor(conn)
    cur.execute(d.sql(_AGENT_AND_DEVICE), {"id": d.uid(agent_id), "machine": machine_id})
    row = cur.fetchone()
    if row is None:
        return None
    device = None if row[6] is None else (row[6], row[7], row[8], d.read_ts(row[9]), d.read_ts(row[10]), row[11],
                                          row[12], row[13])
    return (row[0], row[1], row[2], row[3], row[4], d.read_ts(row[5])), device


def device_by_machine(conn: Connection, machine_id: str) -> DeviceRow | None:
    """(id, machine_id, last_hash, last_seen, created_at, monitor_key, monitor_ids, unit_id) of this machine."""
    d = dialect(conn.dialect.name)
    cur = cursor(conn)
    cur.execute(d.sql(_DEVICE), {"machine": machine_id})
    row = cur.fetchone()
    if row is None:
        return None
    return row[0], row[1], row[2], d.read_ts(row[3]), d.read_ts(row[4]), row[5], row[6], row[7]


@functools.cache
def _insert(table: str, columns: tuple[str, ...]) -> str:
    # Table and column names come from this code (the observation columns), never from a report.
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"  # noqa: S608


def insert_observation(conn: Connection, row: Mapping[str, Any], sightings: Sequence[tuple[int, int | None]] = ()
                       ) -> None:
    """Append an observation, and a sighting of each (monitor id, EDID year) it shows."""
    d = dialect(conn.dialect.name)
    cur = cursor(conn)
    cur.execute(d.sql(_insert("observation", tuple(row))), d.values(row))
    if sightings:
        observation_id = cur.lastrowid if d.sqlite else None
        if observation_id is None:
            cur.execute(d.sql("SELECT max(id) FROM observation WHERE device_id = :device_id "
                              "AND report_id = :report_id"),
                        {"device_id": row["device_id"], "report_id": d.uid(row["report_id"])})
            observation_id = cur.fetchone()[0]
        host, at = row["device_id"], d.ts(row["observed_at"])
        cur.executemany(d.sql(_INSERT_SIGHTING), [
            {"observation_id": observation_id, "host_id": host, "monitor_id": monitor, "observed_at": at,
             "year": year}
            for monitor, year in sightings
        ])


_INSERT_SIGHTING = ("INSERT INTO monitor_sighting (observation_id, host_id, monitor_id, observed_at, year) "
                    "VALUES (:observation_id, :host_id, :monitor_id, :observed_at, :year)")


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


def _device_params(d: Dialect, device_id: int, collected: datetime, *, machine: str | None, bios: date | None,
                   hostname: str | None, digest: str | None, monitors: tuple[str | None, str | None]
                   ) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"device": device_id, "collected": d.ts(collected)}
    if machine is not None:
        params["machine"] = machine
    if bios is not None:
        params["bios"] = d.day(bios)
    if hostname is not None:
        params["hostname"] = hostname
    if digest is not None:
        params["hash"] = digest
        params["monitor_key"], params["monitor_ids"] = monitors
    return _device_update(machine is not None, bios is not None, hostname is not None, digest is not None), params


@functools.cache
def _combined(device_sql: str, agent: bool) -> str:
    # PostgreSQL runs the three writes as one statement (one round trip); the updates apply only when the
    # insert did, i.e. when this report was not recorded before.
    guard = " AND EXISTS (SELECT 1 FROM ins)"
    parts = [f"WITH ins AS ({_INSERT_REPORT})", f"dev AS ({device_sql}{guard} RETURNING id)"]
    if agent:
        parts.append(f"agt AS ({_UPDATE_AGENT}{guard} RETURNING id)")
    return ", ".join(parts) + " SELECT count(*) FROM ins"  # noqa: S608 - fragments of this module


@dataclass
class Deferred:
    """A routine report's writes, kept for one ``executemany`` with the rest of its batch (PostgreSQL)."""

    sql: str
    params: dict[str, Any]
    recorded: bool | None = None  # set by flush: False when the report_id was already recorded


DEFER = "kiemke_defer"  # key in Connection.info of the batch's list of Deferred writes


@functools.cache
def _observation_types() -> dict[str, str]:
    from sqlalchemy.dialects import postgresql

    from server.models import Observation, table_of

    pg: Any = postgresql.dialect()  # type: ignore[no-untyped-call]
    return {c.name: c.type.compile(dialect=pg) for c in table_of(Observation).columns}


@functools.cache
def _with_observation(combined: str, columns: tuple[str, ...], sightings: bool = False) -> str:
    # Casts, because in INSERT ... SELECT PostgreSQL cannot infer a parameter's type from the column.
    types = _observation_types()
    values = ", ".join(f"CAST(:{c} AS {types[c]})" for c in columns)
    obs = (f"obs AS (INSERT INTO observation ({', '.join(columns)}) SELECT {values} "  # noqa: S608 - model columns
           "WHERE EXISTS (SELECT 1 FROM ins) RETURNING id)")
    if sightings:  # the monitors it shows, in the same statement: (monitor id, year) pairs as two arrays
        obs += (", sig AS (INSERT INTO monitor_sighting (observation_id, host_id, monitor_id, observed_at, year) "
                "SELECT obs.id, CAST(:device_id AS INTEGER), m.monitor, "
                "CAST(:observed_at AS TIMESTAMP WITHOUT TIME ZONE), m.year FROM obs, "
                "unnest(CAST(:sighting_monitors AS INTEGER[]), CAST(:sighting_years AS INTEGER[])) "
                "AS m(monitor, year))")
    head, tail = combined.rsplit(" SELECT count(*) FROM ins", 1)
    return f"{head}, {obs} SELECT count(*) FROM ins{tail}"  # noqa: S608 - fragments of this module


def record_report(conn: Connection, report_row: Mapping[str, Any], *, collected: datetime, machine: str | None,
                  bios: date | None, hostname: str | None, digest: str | None, agent_id: uuid.UUID | None,
                  now: datetime, machine_id: str, observation: Mapping[str, Any] | None = None,
                  sightings: Sequence[tuple[int, int | None]] = (),
                  monitors: tuple[str | None, str | None] = (None, None), defer: bool = False) -> bool:
    """Record a received report, count it on its device, note its agent; False when it was recorded before.

    ``machine``, ``bios``, ``hostname`` and ``digest`` are the device's facts this report moves forward
    (None: leave as is), ``monitors`` the (monitor_key, monitor_ids) that go with ``digest``; ``observation``
    is inserted too when given and the report is new, with ``sightings`` (monitor id, year). With ``defer``
    on PostgreSQL inside a batch, the writes join the batch's list and True is returned: the batch learns
    at its flush whether the report was new.
    """
    d = dialect(conn.dialect.name)
    device_id = report_row["device_id"]
    device_sql, params = _device_params(d, device_id, collected, machine=machine, bios=bios, hostname=hostname,
                                        digest=digest, monitors=monitors)
    agent_params = {} if agent_id is None else {"now": d.ts(now), "agent": d.uid(agent_id), "machine": machine_id}
    cur = cursor(conn)
    if not d.sqlite:
        # Shared names (device_id, report_id, received_at, hostname, machine) carry equal values in every part.
        statement = _combined(device_sql, agent_id is not None)
        values = {**d.values(report_row), **params, **agent_params}
        if observation is not None:
            statement = _with_observation(statement, tuple(observation), bool(sightings))
            values.update(d.values(observation))
            if sightings:
                values["sighting_monitors"] = [m for m, _ in sightings]
                values["sighting_years"] = [y for _, y in sightings]
        deferred = conn.info.get(DEFER)
        if defer and deferred is not None:
            deferred.append(Deferred(d.sql(statement), values))
            return True
        cur.execute(d.sql(statement), values)
        row = cur.fetchone()
        return bool(row and row[0])
    cur.execute(_INSERT_REPORT, d.values(report_row))
    if cur.fetchone() is None:
        return False
    cur.execute(device_sql, params)
    if agent_id is not None:
        cur.execute(_UPDATE_AGENT, {**agent_params, "device": device_id})
    if observation is not None:
        insert_observation(conn, observation, sightings)
    return True


def flush(conn: Connection, deferred: list[Deferred]) -> None:
    """Run deferred writes, one ``executemany`` per statement shape, and note which reports were new."""
    shapes: dict[str, list[Deferred]] = {}
    for item in deferred:
        shapes.setdefault(item.sql, []).append(item)
    cur = cursor(conn)
    for statement, items in shapes.items():
        cur.executemany(statement, [item.params for item in items], returning=True)
        for item in items:
            row = cur.fetchone()
            item.recorded = bool(row and row[0])
            cur.nextset()
