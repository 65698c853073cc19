"""Console users, the one service that makes and changes them: create, list, disable and enable, set or reset a
password, change one's own; and who a session cookie belongs to. Every change is audited.

Used by the console's pages, the command line (``user create|disable|enable|passwd``) and the demo, so a user
made anywhere passes the same checks. A session is valid only while its user is enabled and its password hash
unchanged (``user_from_session`` reads the row on every request), so disabling a user or setting a new
password ends their sessions at once. Hashing and signing are ``server.security``'s.
"""

from __future__ import annotations

import functools
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from server.db import one_statement, reading, writing
from server.models import AuditLog, OrgUnit, User, table_of, utcnow
from server.security import fingerprint, hash_password, password_problem, sign, unsign, verify_password
from server.services.records import audit
from shared.text import clean_text

Role = Literal["admin", "officer", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "officer", "viewer")
SESSION_SECONDS = 12 * 3600  # a working day; then sign in again


class UserError(ValueError):
    """A user that cannot be created or changed as asked; the message says why."""


# --- who is signed in -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in person: role, and the unit whose subtree they see (None: everything)."""

    id: int
    username: str
    role: Role
    unit_code: str | None
    csrf: str

    @property
    def is_admin(self) -> bool:
        """Admins see every unit and may manage users."""
        return self.role == "admin"


def session_token(key: bytes, user: User) -> str:
    """A new session cookie value for ``user``."""
    return sign(key, "session", {"u": user.id, "p": fingerprint(key, user.password_hash),
                                 "c": secrets.token_urlsafe(18), "ms": time.time_ns() // 1_000_000})


@functools.lru_cache(maxsize=16)
def _session_row(also: tuple[sa.ColumnElement[Any], ...]) -> sa.Select[Any]:
    """The user's row (``:user_id``), the code of its unit and when it last signed out, in one query, with
    ``also`` beside. Built once per ``also`` (a page's statement has a score of subqueries).

    Sessions issued before the user's last sign-out no longer count (sign out everywhere); the audit log
    keeps that moment (``console.logout``), found through its (action, actor, at) index.
    """
    user, unit, log = table_of(User).c, table_of(OrgUnit), table_of(AuditLog).c
    signed_out = (sa.select(sa.func.max(log.at)).where(log.action == "console.logout", log.actor == user.username)
                  .scalar_subquery())
    return (sa.select(user.id, user.username, user.role, user.disabled, user.password_hash, user.unit_id,
                      unit.c.code.label("unit_code"), signed_out.label("signed_out_at"), *also)
            .select_from(table_of(User).outerjoin(unit, unit.c.id == user.unit_id))
            .where(user.id == sa.bindparam("user_id")))


def user_from_session(engine: Engine, key: bytes, token: str | None) -> ConsoleUser | None:
    """The user a session cookie belongs to, if it is valid and the user may still sign in."""
    return session_user(engine, key, token)[0]


def session_user(engine: Engine, key: bytes, token: str | None,
                 also: tuple[sa.ColumnElement[Any], ...] = ()) -> tuple[ConsoleUser | None, tuple[Any, ...] | None]:
    """``user_from_session``, and the values of ``also`` (scalar subqueries) read in the same round trip.

    A page that needs other small facts of the database on every request (its data version) gets them
    without a second query; pass the same tuple each time (its statement is built once). The values are
    None when the cookie names no user.
    """
    if not token:
        return None, None
    payload = unsign(key, "session", token, SESSION_SECONDS)
    if payload is None or not isinstance(payload.get("u"), int):
        return None, None
    with one_statement(engine).connect() as conn:
        row = conn.execute(_session_row(also), {"user_id": payload["u"]}).first()
    if row is None:
        return None, None
    extra = tuple(row[8:])
    if row.disabled or not hmac.compare_digest(str(payload.get("p", "")), fingerprint(key, row.password_hash)):
        return None, extra
    signed_out: datetime | None = row.signed_out_at
    if signed_out is not None and signed_out.tzinfo is None:
        signed_out = signed_out.replace(tzinfo=timezone.utc)
    issued_ms = payload.get("ms")
    if signed_out is not None and (not isinstance(issued_ms, int) or issued_ms <= signed_out.timestamp() * 1000):
        return None, extra
    if row.unit_id is not None and row.unit_code is None:
        return None, extra  # bound to a unit that is gone: see nothing rather than everything
    return ConsoleUser(row.id, row.username, _role(row.role), row.unit_code, str(payload.get("c", ""))), extra


def _role(value: str) -> Role:
    return value if value in ROLES else "viewer"


# --- the users ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserLine:
    """A console user as the admin's list shows them (never the hash)."""

    id: int
    username: str
    role: str
    unit_code: str | None
    unit_name: str | None
    disabled: bool
    created_at: datetime
    email: str | None = None
    lang: str = "vi"


def list_users(engine: Engine) -> list[UserLine]:
    """Every console user by name."""
    user, unit = table_of(User), table_of(OrgUnit)
    query = (sa.select(user.c.id, user.c.username, user.c.role, unit.c.code, unit.c.name, user.c.disabled,
                       user.c.created_at, user.c.email, user.c.lang)
             .select_from(user.outerjoin(unit, unit.c.id == user.c.unit_id)).order_by(user.c.username))
    with reading(engine) as session:
        return [UserLine(*row) for row in session.execute(query)]


def any_user(engine: Engine) -> bool:
    """Whether at least one console user exists."""
    with reading(engine) as session:
        return session.execute(sa.select(table_of(User).c.id).limit(1)).first() is not None


def create_user(engine: Engine, username: str, password: str, role: str, unit_code: str | None,
                actor: str) -> User:
    """Create a console user (password hashed); UserError when the name, role, unit or password is refused."""
    username = clean_text(username).strip()
    if not username or len(username) > 128 or any(c.isspace() for c in username):
        raise UserError("the user name must be 1 to 128 characters without spaces")
    if role not in ROLES:
        raise UserError(f"the role must be one of {', '.join(ROLES)}")
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    with writing(engine) as session:
        if session.exec(select(User).where(User.username == username)).first() is not None:
            raise UserError(f"a user named {username!r} already exists")
        unit_id = None
        if unit_code is not None:
            unit = table_of(OrgUnit)
            unit_id = session.execute(sa.select(unit.c.id).where(unit.c.code == unit_code)).scalar()
            if unit_id is None:
                raise UserError(f"unknown unit {unit_code!r}")
        user = User(username=username, password_hash=hash_password(password), role=role, unit_id=unit_id,
                    created_at=utcnow())
        session.add(user)
        audit(session, actor, "user.create", utcnow(), username=username, role=role, unit=unit_code)
    return user


def _get(session: Session, username: str) -> User:
    found: User | None = session.exec(select(User).where(User.username == clean_text(username))).first()
    if found is None:
        raise UserError(f"no user named {username!r}")
    return found


def set_disabled(engine: Engine, username: str, disabled: bool, actor: str) -> bool:
    """Disable (their open sessions end at the next request) or enable a user; False if it already was.

    An admin cannot disable themself.
    """
    if disabled and username == actor:
        raise UserError("you cannot disable your own account")
    with writing(engine) as session:
        user = _get(session, username)
        if user.disabled == disabled:
            return False
        user.disabled = disabled
        session.add(user)
        now = utcnow()
        audit(session, actor, "user.disable" if disabled else "user.enable", now, username=user.username)
        if disabled:
            # Their sessions end for good: the sign-out-everywhere mark keeps them dead after an enable too.
            audit(session, user.username, "console.logout", now, reason="disabled", by=actor)
    return True


def _store_password(engine: Engine, username: str, password: str, *, actor: str, action: str,
                    current: str | None = None) -> None:
    """Hash and keep a new password (every session signed with the old one ends), audited as ``action``; when
    ``current`` is given it must match the old one."""
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    with writing(engine) as session:
        user = _get(session, username)
        if current is not None and not verify_password(current, user.password_hash):
            raise UserError("the current password is not right")
        user.password_hash = hash_password(password)
        session.add(user)
        audit(session, actor, action, utcnow(), username=user.username)


def set_password(engine: Engine, username: str, password: str, actor: str) -> None:
    """A new password chosen by an admin (the command line's ``user passwd``)."""
    _store_password(engine, username, password, actor=actor, action="user.password")


def reset_password(engine: Engine, username: str, actor: str) -> str:
    """A new random password for ``username`` (returned once, stored hashed); their sessions end."""
    password = secrets.token_urlsafe(12)
    _store_password(engine, username, password, actor=actor, action="user.password_reset")
    return password


def change_password(engine: Engine, username: str, current: str, new: str) -> None:
    """A user sets their own password after proving the current one; ``UserError`` says why not."""
    _store_password(engine, username, new, actor=username, action="user.password_change", current=current)


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s<>,;\"()\[\]\\]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$")
MAIL_LANGS = ("vi", "en")


def set_contact(engine: Engine, username: str, email: str | None, lang: str | None, actor: str) -> None:
    """Set where (``email``; empty: no mail) and in which language (vi/en) a user's alert digest goes. Audited."""
    address = (email or "").strip()
    if address and (len(address) > 320 or not _EMAIL.match(address)):
        raise UserError(f"{address!r} is not an e-mail address")
    if lang is not None and lang not in MAIL_LANGS:
        raise UserError(f"language must be one of {', '.join(MAIL_LANGS)}")
    with writing(engine) as session:
        user = _get(session, username)
        before = (user.email, user.lang)
        user.email = address or None
        if lang is not None:
            user.lang = lang
        if (user.email, user.lang) != before:
            session.add(user)
            audit(session, actor, "user.contact", utcnow(), username=username, email=[before[0], user.email],
                  lang=[before[1], user.lang])
