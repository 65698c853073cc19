"""Enrolment tokens, agent keys, and offline enrolment of air-gapped PCs.

Tokens and keys carry 32 random bytes and are stored as ``server.security.digest`` of the secret;
comparisons are constant-time (``matches_digest``).

A key is bound at enrolment to one machine id. Enrolling a machine that is already a device claims it
(a reinstalled PC keeps its history) only with a token of the device's own unit; the claim revokes the
machine's previous keys and is audited. A token is used by one atomic ``UPDATE ... WHERE uses < max_uses``,
so concurrent enrolments can never exceed ``max_uses`` on any engine.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from server.models import Agent, Device, EnrolmentToken, Observation, OrgUnit, table_of, utcnow
from server.security import digest, matches_digest, new_agent_key
from server.services.ingest import Prefetched
from server.services.ingest_sql import agent_and_device, agent_row
from server.services.records import audit, save_device, unit_by_code
from shared.bundle import OfflineEnrolment, new_signing_key
from shared.protocol import EnrollRequest, EnrollResponse, split_agent_key

TOKEN_PREFIX = "kket_"  # noqa: S105 - a prefix, not a secret


class EnrolmentError(Exception):
    """A token that cannot be used, or a unit that does not exist; the message says which."""


def create_token(
    session: Session, unit_code: str, *, days: int, actor: str, max_uses: int | None = None, now: datetime | None = None
) -> tuple[str, EnrolmentToken]:
    """A new enrolment token for a unit, valid ``days`` days; the plain token is returned only here."""
    now = now or utcnow()
    unit = unit_by_code(session, unit_code)
    if unit is None or unit.id is None:
        raise EnrolmentError(f"unknown unit {unit_code!r}: import units first (kiemke-server units import FILE)")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = EnrolmentToken(
        token_hash=digest(plain), unit_id=unit.id, created_at=now, expires_at=now + timedelta(days=days),
        created_by=actor, max_uses=max_uses,
    )
    session.add(token)
    session.flush()
    audit(session, actor, "token.create", now, unit=unit_code, token_id=token.id, expires_at=token.expires_at)
    return plain, token


def check_public_key(public_key: str) -> None:
    """ValueError unless ``public_key`` is base64 of a raw 32-byte Ed25519 public key."""
    try:
        raw = base64.b64decode(public_key, validate=True)
    except ValueError as exc:
        raise ValueError("public_key is not base64") from exc
    if len(raw) != 32:
        raise ValueError(f"public_key must be a raw Ed25519 key of 32 bytes, not {len(raw)}")


def enroll(session: Session, request: EnrollRequest, *, report_interval_seconds: int | None = None,
           now: datetime | None = None) -> EnrollResponse:
    """Trade a valid token for a new agent and its key; EnrolmentError when the token cannot be used."""
    now = now or utcnow()
    if request.public_key is not None:
        check_public_key(request.public_key)
    token = session.exec(select(EnrolmentToken).where(EnrolmentToken.token_hash == digest(request.token))).first()
    if token is None or token.revoked_at is not None:
        raise EnrolmentError("enrolment token is unknown or revoked: ask the IT officer for a new one")
    if token.expires_at <= now:
        raise EnrolmentError(f"enrolment token expired at {token.expires_at:%Y-%m-%d %H:%M} UTC: ask for a new one")
    # A reinstalled agent finds its old device at once, but only in the token's own unit.
    device = session.exec(select(Device).where(Device.machine_id == request.machine_id)).first()
    if device is not None and device.unit_id != token.unit_id:
        raise EnrolmentError("this machine is already a device of another unit: enrol it with a token of that "
                             "unit, or ask the IT officer to move the device first")
    _use_token(session, token)
    agent_id = uuid.uuid4()
    key, key_hash = new_agent_key(agent_id)
    replaced = _revoke_machine_keys(session, request.machine_id, device, now)
    agent = Agent(
        id=agent_id, unit_id=token.unit_id, device_id=device.id if device else None, machine_id=request.machine_id,
        hostname=request.hostname, key_hash=key_hash, public_key=request.public_key, created_at=now,
    )
    session.add(agent)
    unit = token.unit_id
    audit(session, f"agent:{agent_id}", "agent.enroll", now, unit_id=unit, token_id=token.id,
          machine_id=request.machine_id, hostname=request.hostname)
    if device is not None:
        audit(session, f"agent:{agent_id}", "agent.claim_device", now, unit_id=unit, device_id=device.id,
              machine_id=request.machine_id, revoked_agents=[str(a) for a in replaced])
    session.flush()
    unit_row = session.get(OrgUnit, unit)
    assert unit_row is not None
    return EnrollResponse(agent_id=agent_id, agent_key=key, unit_code=unit_row.code,
                          report_interval_seconds=report_interval_seconds)


def _use_token(session: Session, token: EnrolmentToken) -> None:
    """Count one use of ``token`` atomically; EnrolmentError when it is used up (also by a concurrent one)."""
    t = table_of(EnrolmentToken).c
    left = sa.or_(t.max_uses.is_(None), t.uses < t.max_uses)
    result = session.execute(sa.update(table_of(EnrolmentToken)).where(t.id == token.id, left)
                             .values(uses=t.uses + 1))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise EnrolmentError("enrolment token has been used up: ask for a new one")


def _revoke_machine_keys(session: Session, machine_id: str, device: Device | None, now: datetime) -> list[uuid.UUID]:
    """Revoke the live keys of this machine (or its device): one machine, one key. Returns their ids."""
    a = table_of(Agent).c
    mine = a.machine_id == machine_id if device is None else sa.or_(a.machine_id == machine_id,
                                                                     a.device_id == device.id)
    ids = list(session.execute(sa.select(a.id).where(mine, a.revoked_at.is_(None))).scalars())
    if ids:
        session.execute(sa.update(table_of(Agent)).where(a.id.in_(ids)).values(revoked_at=now))
    return ids


@dataclass(frozen=True)
class AgentIdentity:
    """Who a valid key belongs to: what ingest needs to place its reports."""

    id: uuid.UUID
    unit_id: int
    device_id: int | None
    machine_id: str | None = None  # the machine it is bound to
    enrolled_at: datetime | None = None


def identify(conn: Connection, key: str) -> AgentIdentity | None:
    """Like ``authenticate``, on a bare connection with one plain statement (the ingest hot path)."""
    parts = split_agent_key(key)
    if parts is None:
        return None
    agent_id, secret = parts
    row = agent_row(conn, agent_id)
    if row is None or not matches_digest(secret, row[0]) or row[1] is not None:
        return None
    return AgentIdentity(agent_id, row[2], row[3], row[4], row[5])


def identify_for_report(conn: Connection, key: str, machine_id: str) -> tuple[AgentIdentity, Prefetched] | None:
    """``identify`` plus the device row of the report's machine id, in one round trip."""
    parts = split_agent_key(key)
    if parts is None:
        return None
    agent_id, secret = parts
    found = agent_and_device(conn, agent_id, machine_id)
    if found is None:
        return None
    (key_hash, revoked_at, unit_id, device_id, bound_to, enrolled_at), device = found
    if not matches_digest(secret, key_hash) or revoked_at is not None:
        return None
    return AgentIdentity(agent_id, unit_id, device_id, bound_to, enrolled_at), Prefetched(device)


def authenticate(session: Session, key: str) -> Agent | None:
    """The live agent whose key this is; None for a malformed, unknown, wrong or revoked key."""
    parts = split_agent_key(key)
    if parts is None:
        return None
    agent_id, secret = parts
    agent = session.get(Agent, agent_id)
    if agent is None or not matches_digest(secret, agent.key_hash) or agent.revoked_at is not None:
        return None
    return agent


def revoke(session: Session, agent_id: uuid.UUID, *, actor: str, now: datetime | None = None,
           within: Collection[str] | None = None) -> bool:
    """Revoke an agent's key; False when there is no such live agent (in the units ``within``, when given)."""
    now = now or utcnow()
    query = select(Agent).where(Agent.id == agent_id, col(Agent.revoked_at).is_(None))
    if within is not None:
        query = query.join(OrgUnit, col(OrgUnit.id) == col(Agent.unit_id)).where(
            col(OrgUnit.code).in_(sorted(within)))
    agent = session.exec(query).first()
    if agent is None:
        return False
    agent.revoked_at = now
    session.add(agent)
    audit(session, actor, "agent.revoke", now, agent_id=agent_id)
    return True


@dataclass(frozen=True)
class AgentListing:
    """One enrolled agent as ``agents list`` and the console's agents page show it."""

    id: uuid.UUID
    unit: str
    machine_id: str | None
    hostname: str | None
    device_id: int | None
    offline: bool
    created_at: datetime
    last_seen: datetime | None
    revoked_at: datetime | None
    device_name: str | None = None
    reports_received: int = 0
    version: str | None = None  # the agent version of its device's latest stored report

    def as_json(self) -> dict[str, object]:
        """For ``--json``: ids as text, times in ISO 8601."""
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {"id": str(self.id), "unit": self.unit, "machine_id": self.machine_id, "hostname": self.hostname,
                "device_id": self.device_id, "offline": self.offline, "created_at": iso(self.created_at),
                "last_seen": iso(self.last_seen), "revoked_at": iso(self.revoked_at),
                "device_name": self.device_name, "reports_received": self.reports_received,
                "version": self.version}


def list_agents(session: Session, *, unit_id: int | None = None,
                within: Collection[str] | None = None) -> list[AgentListing]:
    """Every agent (of one unit, or of the units ``within``, when given), newest enrolment first."""
    a, u, d = table_of(Agent).c, table_of(OrgUnit).c, table_of(Device).c
    query = (sa.select(a.id, u.code, a.machine_id, a.hostname, a.device_id, a.offline, a.created_at, a.last_seen,
                       a.revoked_at, d.name, d.reports_received)
             .select_from(table_of(Agent).join(table_of(OrgUnit), u.id == a.unit_id)
                          .outerjoin(table_of(Device), d.id == a.device_id)))
    if unit_id is not None:
        query = query.where(a.unit_id == unit_id)
    if within is not None:
        query = query.where(u.code.in_(sorted(within)))
    rows = session.execute(query.order_by(a.created_at.desc(), a.id)).all()
    versions = _agent_versions(session, sorted({r.device_id for r in rows if r.device_id is not None}))
    return [AgentListing(r.id, r.code, r.machine_id, r.hostname, r.device_id, r.offline, r.created_at, r.last_seen,
                         r.revoked_at, r.name, r.reports_received or 0, versions.get(r.device_id))
            for r in rows]


def _agent_versions(session: Session, device_ids: list[int]) -> dict[int, str]:
    """device id -> the agent version stated by its latest stored report."""
    o, d = table_of(Observation).c, table_of(Device).c
    found: dict[int, str] = {}
    for start in range(0, len(device_ids), 500):  # bounded IN lists on every engine
        rows = session.execute(
            sa.select(o.device_id, o.facts).select_from(
                table_of(Observation).join(table_of(Device), sa.and_(d.id == o.device_id,
                                                                      d.last_observed_at == o.observed_at)))
            .where(o.device_id.in_(device_ids[start:start + 500])).order_by(o.id))
        for device_id, facts in rows:
            version = json.loads(facts).get("agent_version")
            if isinstance(version, str):
                found[device_id] = version
    return found


def enrol_offline(session: Session, unit_code: str, device_name: str, *, actor: str, kind: str = "desktop",
                  now: datetime | None = None) -> OfflineEnrolment:
    """Create an air-gapped device and its agent with a signing key; the returned file holds the private key."""
    now = now or utcnow()
    unit = unit_by_code(session, unit_code)
    if unit is None or unit.id is None:
        raise EnrolmentError(f"unknown unit {unit_code!r}: import units first (kiemke-server units import FILE)")
    device = Device(unit_id=unit.id, kind=kind, name=device_name, air_gapped=True)
    save_device(session, device, now)
    private_key, public_key = new_signing_key()
    agent_id = uuid.uuid4()
    key, key_hash = new_agent_key(agent_id)
    session.add(Agent(id=agent_id, unit_id=unit.id, device_id=device.id, hostname=device_name, key_hash=key_hash,
                      public_key=public_key, offline=True, created_at=now))
    audit(session, actor, "agent.enrol_offline", now, unit=unit_code, device_id=device.id, agent_id=agent_id,
          device_name=device_name)
    session.flush()
    return OfflineEnrolment(agent_id=agent_id, agent_key=key, private_key=private_key, unit_code=unit_code,
                            device_name=device_name, issued_at=now)
