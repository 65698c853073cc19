"""Personal tokens for the read API: created by a user for themself (or by an admin for anyone), shown once.

A token is ``kkr_`` and 43 random URL-safe characters; only its SHA-256 is kept (the secret is random, so a
plain hash cannot be reversed by guessing, and the lookup is one unique-index probe). A token acts as its
user: the user's role and unit scope as they stand at each request, nothing when the user is disabled.
Creation and revocation are audited, and so is every attempt to use a revoked token; the last use is kept
(to the minute, so that a script polling every second does not write on every request).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from server.models import ApiToken, OrgUnit, User, table_of
from server.services.records import audit
from shared.text import clean_text

PREFIX = "kkr_"
DEFAULT_DAYS = 90
MAX_DAYS = 366
#: A use is written down when the previous one is older than this.
LAST_USE_GRANULARITY = timedelta(minutes=1)


class ApiTokenError(ValueError):
    """A token that cannot be created or revoked as asked (the message says why)."""


class ApiTokenNotFound(LookupError):
    """No token with that id within the caller's reach."""


@dataclass(frozen=True)
class ApiTokenRow:
    """A token as listed: never the secret."""

    id: int
    username: str
    name: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    def state(self, now: datetime) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"

    def as_json(self, now: datetime) -> dict[str, object]:
        """JSON-ready data, as ``apitoken list --json`` prints it."""
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {"id": self.id, "user": self.username, "name": self.name, "state": self.state(now),
                "created_at": when(self.created_at), "created_by": self.created_by,
                "expires_at": when(self.expires_at), "last_used_at": when(self.last_used_at),
                "revoked_at": when(self.revoked_at), "revoked_by": self.revoked_by}


@dataclass(frozen=True)
class ApiCaller:
    """Who a valid token speaks for: the user's name, role and unit (None: every unit)."""

    token_id: int
    username: str
    role: str
    unit_code: str | None


def digest(secret: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _user(session: Session, username: str) -> User:
    user: User | None = session.exec(select(User).where(User.username == clean_text(username))).first()
    if user is None:
        raise ApiTokenError(f"no user named {username!r}")
    return user


def create_api_token(session: Session, username: str, name: str, *, days: int | None, actor: str,
                     now: datetime) -> tuple[str, ApiToken]:
    """A new token for ``username`` valid ``days`` days: (the secret, shown once; the stored row), audited."""
    label = clean_text(name).strip()
    if not label or len(label) > 128:
        raise ApiTokenError("the token's name must be 1 to 128 characters (what it is for)")
    days = DEFAULT_DAYS if days is None else days
    if not 1 <= days <= MAX_DAYS:
        raise ApiTokenError(f"a token lasts 1 to {MAX_DAYS} days, not {days}")
    user = _user(session, username)
    if user.disabled:
        raise ApiTokenError(f"the user {user.username!r} is disabled")
    assert user.id is not None
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=label, token_hash=digest(secret), created_at=now, created_by=actor,
                   expires_at=now + timedelta(days=days))
    session.add(row)
    session.flush()
    audit(session, actor, "apitoken.create", now, token_id=row.id, username=user.username, name=label,
          expires_at=row.expires_at.isoformat())
    return secret, row


def list_api_tokens(session: Session, username: str | None = None) -> list[ApiTokenRow]:
    """Every token (or one user's), newest first."""
    query = select(ApiToken, User.username).join(User, col(User.id) == col(ApiToken.user_id))
    if username is not None:
        query = query.where(User.username == clean_text(username))
    rows = session.exec(query.order_by(col(ApiToken.id).desc())).all()
    out = []
    for token, owner in rows:
        assert token.id is not None
        out.append(ApiTokenRow(token.id, owner, token.name, token.created_at, token.created_by, token.expires_at,
                               token.last_used_at, token.revoked_at, token.revoked_by))
    return out


def revoke_api_token(session: Session, token_id: int, *, actor: str, now: datetime,
                     owner: str | None = None) -> tuple[ApiTokenRow, bool]:
    """Revoke a token (only ``owner``'s when given); (the token, whether it changed). Audited when it does."""
    for row in list_api_tokens(session, owner):
        if row.id == token_id:
            break
    else:
        raise ApiTokenNotFound(f"no API token {token_id}" + (f" of {owner}" if owner else ""))
    if row.revoked_at is not None:
        return row, False
    token = session.get(ApiToken, token_id)
    assert token is not None
    token.revoked_at, token.revoked_by = now, actor
    session.add(token)
    audit(session, actor, "apitoken.revoke", now, token_id=token_id, username=row.username, name=row.name)
    return ApiTokenRow(row.id, row.username, row.name, row.created_at, row.created_by, row.expires_at,
                       row.last_used_at, now, actor), True


class Refused(Exception):
    """The token does not open the API; ``reason`` is unknown, expired, revoked or disabled."""

    def __init__(self, reason: str, token_id: int | None = None, token_name: str | None = None,
                 username: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.username = reason, username
        self.token_id, self.token_name = token_id, token_name


@functools.cache
def _token_row() -> sa.Select[Any]:
    """The token, its user and the user's unit, by the token's hash: one unique-index probe, one round trip."""
    token, user, unit = table_of(ApiToken), table_of(User), table_of(OrgUnit)
    return (sa.select(token.c.id, token.c.name, token.c.revoked_at, token.c.expires_at, token.c.last_used_at,
                      user.c.username, user.c.role, user.c.disabled, user.c.unit_id, unit.c.code.label("unit_code"))
            .select_from(token.join(user, user.c.id == token.c.user_id)
                         .outerjoin(unit, unit.c.id == user.c.unit_id))
            .where(token.c.token_hash == sa.bindparam("token_hash")))


def authenticate(conn: Connection | Session, secret: str, now: datetime) -> tuple[ApiCaller, bool]:
    """The caller a token speaks for, and whether its use is to be written down; ``Refused`` otherwise.

    Reads only, in one statement: ``note_use`` and ``note_refusal`` write, so that most requests take no
    write lock.
    """
    if not secret.startswith(PREFIX) or len(secret) > 200:
        raise Refused("unknown")
    row = conn.execute(_token_row(), {"token_hash": digest(secret)}).first()
    if row is None:
        raise Refused("unknown")
    if row.revoked_at is not None:
        raise Refused("revoked", row.id, row.name, row.username)
    if row.expires_at <= now:
        raise Refused("expired", row.id, row.name, row.username)
    if row.disabled:
        raise Refused("disabled", row.id, row.name, row.username)
    if row.unit_id is not None and row.unit_code is None:  # its unit is gone: nothing rather than everything
        raise Refused("disabled", row.id, row.name, row.username)
    stale = row.last_used_at is None or now - row.last_used_at >= LAST_USE_GRANULARITY
    return ApiCaller(row.id, row.username, row.role, row.unit_code), stale


def note_use(session: Session, token_id: int, now: datetime) -> None:
    """Record that the token was used at ``now``."""
    session.execute(sa.update(table_of(ApiToken)).where(table_of(ApiToken).c.id == token_id)
                    .values(last_used_at=now))


def note_refusal(session: Session, refused: Refused, now: datetime) -> None:
    """Audit the use of a revoked token (someone still holds it: the admin wants to know who and which)."""
    if refused.reason == "revoked" and refused.token_id is not None:
        audit(session, refused.username or "?", "apitoken.revoked_use", now, token_id=refused.token_id,
              name=refused.token_name)
