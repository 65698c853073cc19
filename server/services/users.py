"""Console users after creation: list, disable and enable, reset a password, change one's own. Audited.

Shared by the console's users page and the command-line twins (``user disable|enable|passwd``). A session is
valid only while its user is enabled and its password hash unchanged (``console.auth.user_from_session``
reads the row on every request), so disabling a user or setting a new password ends their sessions at once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from server.console.auth import UserError, hash_password, password_problem, verify_password
from server.db import reading, writing
from server.models import OrgUnit, User, table_of, utcnow
from server.services.records import audit


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


def _get(session: Session, username: str) -> User:
    if "\x00" in username:  # PostgreSQL refuses NUL in text: no such user, not a server error
        raise UserError(f"no user named {username!r}")
    found: User | None = session.exec(select(User).where(User.username == username)).first()
    if found is None:
        raise UserError(f"no user named {username!r}")
    return found


def set_disabled(engine: Engine, username: str, disabled: bool, actor: str) -> None:
    """Disable (their open sessions end at the next request) or enable a user; an admin cannot disable themself."""
    if disabled and username == actor:
        raise UserError("you cannot disable your own account")
    with writing(engine) as session:
        user = _get(session, username)
        if user.disabled != disabled:
            user.disabled = disabled
            session.add(user)
            now = utcnow()
            audit(session, actor, "user.disable" if disabled else "user.enable", now, username=username)
            if disabled:
                # Their sessions end for good: the sign-out-everywhere mark keeps them dead after an enable too.
                audit(session, username, "console.logout", now, reason="disabled", by=actor)


def reset_password(engine: Engine, username: str, actor: str) -> str:
    """A new random password for ``username`` (returned once, stored hashed); their sessions end."""
    password = secrets.token_urlsafe(12)
    with writing(engine) as session:
        user = _get(session, username)
        user.password_hash = hash_password(password)
        session.add(user)
        audit(session, actor, "user.password_reset", utcnow(), username=username)
    return password


def change_password(engine: Engine, username: str, current: str, new: str) -> None:
    """A user sets their own password after proving the current one; ``UserError`` says why not."""
    problem = password_problem(new)
    if problem:
        raise UserError(problem)
    with writing(engine) as session:
        user = _get(session, username)
        if not verify_password(current, user.password_hash):
            raise UserError("the current password is not right")
        user.password_hash = hash_password(new)
        session.add(user)
        audit(session, username, "user.password_change", utcnow(), username=username)


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
