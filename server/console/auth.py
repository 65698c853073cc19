"""Signing in to the console: credentials, throttling, the audit of sign-ins and the demo's one-time link.

- Passwords, signed tokens and the signing key are ``server.security``'s; users and "who is this session"
  are ``server.services.users``' (the API reads the same session through ``server.api.deps``).
- The session is a signed cookie (HMAC-SHA256, HttpOnly, SameSite=Lax, Secure over HTTPS) holding the user
  id, a fingerprint of the password hash (changing the password ends every session) and the CSRF token of
  the forms. The user row is read on every request: a disabled user is out at once.
- Failed sign-ins are throttled per account and per address, counted in the database so that every replica
  shares the count; ``X-Forwarded-For`` is believed only from ``KIEMKE_TRUSTED_PROXIES``.
- A one-time sign-in link (signed, ten minutes, single use, loopback only, never in production) lets
  ``kiemke-server demo`` open the browser straight onto the console: see ``demo_sign_in``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from server.api.deps import SESSION_COOKIE as SESSION_COOKIE
from server.config import Settings
from server.db import reading, writing
from server.models import AuditLog, LoginFailure, User, table_of, utcnow
from server.security import dummy_hash, sign, signing_key, unsign, verify_password
from server.services.records import audit
from server.services.users import ConsoleUser as ConsoleUser  # the name the console's modules use
from server.services.users import create_user
from shared.text import clean_text

LOGIN_COOKIE = "kiemke_login"  # random value the sign-in form's CSRF token is bound to
LINK_SECONDS = 600


def check_login(engine: Engine, username: str, password: str) -> User | None:
    """The enabled user with these credentials, else None, in the same time either way."""
    username = clean_text(username)  # a NUL would reach the database (PostgreSQL refuses it)
    with reading(engine) as session:
        user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        verify_password(password, dummy_hash())
        return None
    ok = verify_password(password, user.password_hash)
    return user if ok and not user.disabled else None


def record(engine: Engine, actor: str, action: str, **detail: Any) -> None:
    """One audit log entry in its own transaction."""
    with writing(engine) as session:
        audit(session, clean_text(actor)[:128], action, utcnow(), **detail)  # a tried login name is outside text


# --- throttling -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginThrottle:
    """Refuses sign-in attempts after too many failures, counted in the database (every replica sees them).

    - one name from one address: ``per_pair`` failures;
    - one name from anywhere: ``per_name`` failures (slow guessing from many addresses). Only that account
      waits: a locked account never blocks the others;
    - one address trying many names: ``per_address_names`` different names (password spraying). A trusted
      proxy's own address is never blocked this way, since every user may come through it.
    """

    per_pair: int = 5
    per_name: int = 10
    per_address_names: int = 10
    window: timedelta = timedelta(minutes=15)
    trusted: tuple[IPv4Network | IPv6Network, ...] = ()

    def blocked(self, engine: Engine, address: str, username: str) -> bool:
        """Whether this attempt must wait."""
        name, since = _login_name(username), utcnow() - self.window
        failure = table_of(LoginFailure)
        recent = failure.c.at > since
        with reading(engine) as session:
            pair, per_name = session.execute(sa.select(
                sa.func.count().filter(failure.c.address == address),
                sa.func.count(),
            ).where(recent, failure.c.username == name)).one()
            if pair >= self.per_pair or per_name >= self.per_name:
                return True
            if _in(address, self.trusted):
                return False
            names = session.execute(sa.select(sa.func.count(sa.distinct(failure.c.username))).where(
                recent, failure.c.address == address)).scalar_one()
        return bool(names >= self.per_address_names)

    def failed(self, engine: Engine, address: str, username: str) -> None:
        """Count a failed attempt (and forget the ones older than the window)."""
        now, failure = utcnow(), table_of(LoginFailure)
        with writing(engine) as session:
            session.execute(sa.delete(failure).where(failure.c.at <= now - self.window))
            session.execute(sa.insert(failure).values(at=now, address=address[:64], username=_login_name(username)))

    def succeeded(self, engine: Engine, address: str, username: str) -> None:
        """Forget the failures of a name that signed in from this address."""
        failure = table_of(LoginFailure)
        with writing(engine) as session:
            session.execute(sa.delete(failure).where(failure.c.address == address,
                                                     failure.c.username == _login_name(username)))


def _login_name(username: str) -> str:
    return clean_text(username).casefold()[:128]


def _in(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str | None, forwarded_for: str | None,
                   trusted: tuple[IPv4Network | IPv6Network, ...]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the last address in
    ``X-Forwarded-For`` that is not itself a trusted proxy (the ones before it are the client's to invent)."""
    address = peer or "unknown"
    if not forwarded_for or not _in(address, trusted):
        return address
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        try:
            ip_address(hop)
        except ValueError:
            return address  # a malformed hop: believe no further than the proxy that handed it on
        address = hop
        if not _in(hop, trusted):
            return hop
    return address


# --- the demo's one-time sign-in link -------------------------------------------------------------------------

LINK_PATH = "/login/link"
DEMO_USERNAME = "admin"


@dataclass(frozen=True)
class DemoSignIn:
    """What ``demo_sign_in`` made: the link to open, and the password when it created the admin just now."""

    url: str
    username: str
    password: str | None


def demo_sign_in(base_url: str, settings: Settings | None = None) -> DemoSignIn:
    """A one-time link that signs the demo's admin in; creates that admin (random password) when no user exists.

    Called by ``kiemke-server demo`` in its own process, with the same settings (data dir, database) as the
    server it started. The password is returned once so that the demo prints it; it is stored only hashed.
    """
    from server.db import open_database

    settings = settings or Settings.from_env()
    if settings.environment == "production":
        raise RuntimeError("sign-in links are for the demo only, never in production")
    engine = open_database(settings.url)
    try:
        password = None
        with reading(engine) as session:
            admin = session.exec(select(User).where(User.username == DEMO_USERNAME)).first()
        if admin is None:
            password = secrets.token_urlsafe(12)
            admin = create_user(engine, DEMO_USERNAME, password, "admin", None, actor="demo")
        assert admin.id is not None
        token = sign(signing_key(settings), "link", {"u": admin.id, "n": secrets.token_urlsafe(12)})
        return DemoSignIn(f"{base_url.rstrip('/')}{LINK_PATH}?token={token}", admin.username, password)
    finally:
        engine.dispose()


def use_link(engine: Engine, key: bytes, token: str) -> User | None:
    """The user a valid, unused sign-in link names; the link is spent (recorded in the audit log)."""
    payload = unsign(key, "link", token, LINK_SECONDS)
    if payload is None or not isinstance(payload.get("u"), int) or not isinstance(payload.get("n"), str):
        return None
    spent = f'"nonce": {json.dumps(payload["n"])}'
    with writing(engine) as session:
        # The audit entry is the record that this link was used: a second use finds it and is refused.
        log = table_of(AuditLog)
        used = session.execute(sa.select(log.c.id).where(
            log.c.action == "console.login_link", log.c.detail.contains(spent, autoescape=True))).first()
        user = session.get(User, payload["u"])
        if used is not None or user is None or user.disabled:
            return None
        audit(session, user.username, "console.login_link", utcnow(), nonce=payload["n"])
        return user


def is_loopback(host: str | None) -> bool:
    """Whether a client address is this machine."""
    if not host:
        return False
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def local_time(value: datetime, settings: Settings) -> datetime:
    """A UTC timestamp in the district's time zone."""
    return value.astimezone(settings.tz)
