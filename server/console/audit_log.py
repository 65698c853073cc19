"""The audit log as a person reads it: actions named, agents and units by name, local times, filters, paging.

Entries keep codes and ids (stable for scripts); this module only words them for the page: ``agent:<uuid>``
becomes the agent's host name, ``unit_id``/``unit`` the unit's name, ``device_id`` the device's name.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.console.device_detail import local_time
from server.models import Agent, AuditLog, Device, OrgUnit, table_of
from server.report.numbers import Lang
from server.services.history import end_of_day

PAGE = 100


@dataclass(frozen=True)
class AuditFilter:
    """What the admin narrows the log by; every field optional."""

    actor: str | None = None
    action: str | None = None
    unit: str | None = None  # a unit code named in the entry's detail
    since: date | None = None  # local days, inclusive
    until: date | None = None


@dataclass(frozen=True)
class AuditLine:
    """One entry, worded."""

    at: str
    actor: str
    action: str  # the code, for the row's colour and the filter
    detail: tuple[tuple[str, str], ...]


def _where(log: sa.Table, wanted: AuditFilter, tz: tzinfo) -> list[sa.ColumnElement[bool]]:
    c = log.c
    clauses: list[sa.ColumnElement[bool]] = []
    if wanted.actor:
        clauses.append(c.actor == wanted.actor)
    if wanted.action:
        clauses.append(c.action == wanted.action)
    if wanted.unit:
        # Details are JSON written with sort_keys: a unit is named as "unit": "CODE" (or by id, see below).
        code = json.dumps(wanted.unit)
        clauses.append(sa.or_(c.detail.contains(f'"unit": {code}'), c.detail.contains(f'"unit_code": {code}')))
    if wanted.since:  # from the first instant of that local day
        clauses.append(c.at >= end_of_day(wanted.since - timedelta(days=1), tz))
    if wanted.until:
        clauses.append(c.at < end_of_day(wanted.until, tz))
    return clauses


def audit_page(engine: Engine, tz: tzinfo, lang: Lang, wanted: AuditFilter, page: int,
               size: int = PAGE) -> tuple[list[AuditLine], int, list[str], list[str]]:
    """One page of matching entries (newest first), the total, and the actors and actions to filter by."""
    log = table_of(AuditLog)
    clauses = _where(log, wanted, tz)
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(log).where(*clauses)).scalar_one()
        rows = conn.execute(
            sa.select(log.c.at, log.c.actor, log.c.action, log.c.detail).where(*clauses)
            .order_by(log.c.at.desc(), log.c.id.desc()).limit(size).offset((page - 1) * size)
        ).all()
        actors = list(conn.execute(sa.select(log.c.actor).distinct().order_by(log.c.actor)).scalars())
        actions = list(conn.execute(sa.select(log.c.action).distinct().order_by(log.c.action)).scalars())
        names = _Names(conn)
        lines = [AuditLine(local_time(r.at, tz, lang), names.actor(r.actor), r.action, names.detail(r.detail))
                 for r in rows]
    return lines, total, actors, actions


class _Names:
    """Looks up the names behind ids, once per page."""

    def __init__(self, conn: sa.Connection) -> None:
        unit, device, agent = table_of(OrgUnit), table_of(Device), table_of(Agent)
        self._conn, self._device, self._agent = conn, device, agent
        rows = conn.execute(sa.select(unit.c.id, unit.c.code, unit.c.name))
        self.units_by_id = {r.id: (r.code, r.name) for r in rows}
        self.units_by_code = {code: name for code, name in self.units_by_id.values()}

    def agent(self, value: str) -> str | None:
        try:
            agent_id = uuid.UUID(value)
        except ValueError:
            return None
        a = self._agent.c
        return self._conn.execute(sa.select(a.hostname).where(a.id == agent_id)).scalar()

    def device(self, device_id: object) -> str | None:
        if not isinstance(device_id, int):
            return None
        d = self._device.c
        row = self._conn.execute(sa.select(d.name, d.hostname).where(d.id == device_id)).first()
        return (row.hostname or row.name) if row else None

    def actor(self, actor: str) -> str:
        if actor.startswith("agent:"):
            host = self.agent(actor.removeprefix("agent:"))
            return f"agent {host}" if host else actor
        return actor

    def detail(self, text: str) -> tuple[tuple[str, str], ...]:
        try:
            data = json.loads(text)
        except ValueError:
            return (("", text),)
        if not isinstance(data, dict):
            return (("", str(data)),)
        out = []
        for key, value in data.items():
            if value in (None, "", [], {}):
                continue
            if key == "unit_id" and value in self.units_by_id:
                key, value = "unit", self.units_by_id[value][1]
            elif key in ("unit", "unit_code") and isinstance(value, str) and value in self.units_by_code:
                value = f"{self.units_by_code[value]} ({value})"
            elif key == "device_id":
                if "device" in data:
                    continue  # the name as it was then is in the entry already
                key, value = "device", self.device(value) or value
            elif key == "agent_id" and isinstance(value, str):
                value = self.agent(value) or value
            elif key == "changes" and isinstance(value, dict):
                value = "; ".join(f"{name}: {_text(old)} → {_text(new)}" for name, (old, new) in value.items())
            out.append((key, _text(value)))
        return tuple(out)


def _text(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
