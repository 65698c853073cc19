"""Who is signed in to the console, and what they may see.

- Passwords are hashed with scrypt (stdlib) and a random salt; checks run in constant time, and a user
  name that does not exist costs the same scrypt as one that does.
- The session is a signed cookie (HMAC-SHA256, HttpOnly, SameSite=Lax, Secure over HTTPS) holding the user
  id, a fingerprint of the password hash (changing the password ends every session) and the CSRF token of
  the forms. The user row is read on every request: a disabled user is out at once.
- The signing key is ``Settings.secret_key``; while it is still the development default, a random key kept
  in ``<data_dir>/console.key`` is used instead, so nobody can forge a session from the published default.
- Failed sign-ins are throttled per account and per address, counted in the database so that every replica
  shares the count; ``X-Forwarded-For`` is believed only from ``KIEMKE_TRUSTED_PROXIES``.
- A one-time sign-in link (signed, ten minutes, single use, loopback only, never in production) lets
  ``kiemke-server demo`` open the browser straight onto the console: see ``demo_sign_in``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from ipaddress import IPv4Network, IPv6Network, ip_address
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from server.config import DEFAULT_SECRET, Settings
from server.db import reading, writing
from server.models import AuditLog, LoginFailure, OrgUnit, User, table_of, utcnow
from server.services.records import audit
from shared.text import clean_text

Role = Literal["admin", "officer", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "officer", "viewer")

SESSION_COOKIE = "kiemke_session"
LOGIN_COOKIE = "kiemke_login"  # random value the sign-in form's CSRF token is bound to
SESSION_SECONDS = 12 * 3600  # a working day; then sign in again
LINK_SECONDS = 600
MIN_PASSWORD = 10

# scrypt cost: 16 MiB and ~50 ms per check, well inside OpenSSL's default memory limit of 32 MiB.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_DUMMY_HASH: str | None = None


# --- passwords ------------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` for a new password."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; False for a malformed hash rather than an error."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(_unb64(expected)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, _unb64(expected))


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def password_problem(password: str) -> str | None:
    """Why a new password is refused (in English, for the command line), or None."""
    if len(password) < MIN_PASSWORD:
        return f"the password must have at least {MIN_PASSWORD} characters"
    if password.strip() != password:
        return "the password must not start or end with spaces"
    return None


# --- signing --------------------------------------------------------------------------------------------------

_keys: dict[str, bytes] = {}
_keys_lock = threading.Lock()


def signing_key(settings: Settings) -> bytes:
    """The key that signs sessions and links: from the configured secret, or a random one kept on disk."""
    if settings.secret_key != DEFAULT_SECRET:
        return hashlib.sha256(b"kiemke-console\0" + settings.secret_key.encode()).digest()
    path = (settings.data_dir / "console.key").resolve()
    with _keys_lock:
        key = _keys.get(str(path))
        if key is None:
            key = _read_or_create_key(path)
            _keys[str(path)] = key
        return key


def _read_or_create_key(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: the demo and its server process may both get here first; one creates, the other reads.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            data = path.read_bytes()
            if len(data) >= 32:
                return data[:32]
            time.sleep(0.01)  # the other process is writing it
        raise RuntimeError(f"{path} is not a console key: delete it and start again") from None
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def same_token(given: str, expected: str) -> bool:
    """Constant-time equality of a token sent by a client with the one expected, whatever ``given`` holds.

    ``hmac.compare_digest`` refuses ``str`` with non-ASCII characters (TypeError), and a forged form field or
    cookie may hold any: compare the UTF-8 bytes instead.
    """
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def sign(key: bytes, purpose: str, payload: dict[str, Any], now: float | None = None) -> str:
    """``payload`` with the time it was signed, as ``body.mac``; ``purpose`` keeps tokens from being swapped."""
    stamped = {**payload, "t": int(time.time() if now is None else now)}
    body = _b64(json.dumps(stamped, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(key, f"{purpose}.{body}".encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unsign(key: bytes, purpose: str, token: str, max_age: int, now: float | None = None) -> dict[str, Any] | None:
    """The payload of a valid token signed for ``purpose`` at most ``max_age`` seconds ago, else None."""
    body, _, mac = token.partition(".")
    if not body or not mac:
        return None
    expected = hmac.new(key, f"{purpose}.{body}".encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        payload = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("t"), int):
        return None
    age = (time.time() if now is None else now) - payload["t"]
    return payload if -60 <= age <= max_age else None


def fingerprint(key: bytes, password_hash: str) -> str:
    """A short keyed digest of the password hash: a session stops working when the password changes."""
    return _b64(hmac.new(key, password_hash.encode(), hashlib.sha256).digest()[:12])


# --- sessions -------------------------------------------------------------------------------------------------


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


def _signed_out_at(session: Session, username: str) -> datetime | None:
    """When the user last signed out: sessions issued before then no longer count (sign out everywhere)."""
    log = table_of(AuditLog)
    last: datetime | None = session.execute(
        sa.select(sa.func.max(log.c.at)).where(log.c.action == "console.logout", log.c.actor == username)
    ).scalar()
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=timezone.utc)
    return last


def _unit_code(session: Session, unit_id: int | None) -> str | None:
    if unit_id is None:
        return None
    unit = table_of(OrgUnit)
    code: str | None = session.execute(sa.select(unit.c.code).where(unit.c.id == unit_id)).scalar()
    return code


def user_from_session(engine: Engine, key: bytes, token: str | None) -> ConsoleUser | None:
    """The user a session cookie belongs to, if it is valid and the user may still sign in."""
    if not token:
        return None
    payload = unsign(key, "session", token, SESSION_SECONDS)
    if payload is None or not isinstance(payload.get("u"), int):
        return None
    with reading(engine) as session:
        user = session.get(User, payload["u"])
        if user is None or user.disabled:
            return None
        if not hmac.compare_digest(str(payload.get("p", "")), fingerprint(key, user.password_hash)):
            return None
        signed_out = _signed_out_at(session, user.username)
        issued_ms = payload.get("ms")
        if signed_out is not None and (not isinstance(issued_ms, int) or issued_ms <= signed_out.timestamp() * 1000):
            return None
        unit = _unit_code(session, user.unit_id)
        if user.unit_id is not None and unit is None:
            return None  # bound to a unit that is gone: see nothing rather than everything
        assert user.id is not None
        return ConsoleUser(user.id, user.username, _role(user.role), unit, str(payload.get("c", "")))


def _role(value: str) -> Role:
    return value if value in ROLES else "viewer"


def check_login(engine: Engine, username: str, password: str) -> User | None:
    """The enabled user with these credentials, else None, in the same time either way."""
    username = clean_text(username)  # a NUL would reach the database (PostgreSQL refuses it)
    with reading(engine) as session:
        user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        verify_password(password, _dummy_hash())
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


# --- users ----------------------------------------------------------------------------------------------------


class UserError(ValueError):
    """A user that cannot be created as asked."""


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


def set_disabled(engine: Engine, username: str, disabled: bool, actor: str) -> bool:
    """Disable (every open session is refused on its next request) or enable a user; False if it already was."""
    username = clean_text(username)
    with writing(engine) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise UserError(f"no user named {username!r}")
        if user.disabled == disabled:
            return False
        user.disabled = disabled
        session.add(user)
        now = utcnow()
        audit(session, actor, "user.disable" if disabled else "user.enable", now, username=username)
        if disabled:  # signed out everywhere: enabling the user again does not revive today's sessions
            audit(session, username, "console.logout", now, by=actor, reason="disabled")
    return True


def set_password(engine: Engine, username: str, password: str, actor: str) -> None:
    """A new password for the user (hashed; every session signed with the old one ends), audited."""
    username = clean_text(username)
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    with writing(engine) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise UserError(f"no user named {username!r}")
        user.password_hash = hash_password(password)
        session.add(user)
        audit(session, actor, "user.password", utcnow(), username=username)


def any_user(engine: Engine) -> bool:
    """Whether at least one console user exists."""
    with reading(engine) as session:
        return session.execute(sa.select(table_of(User).c.id).limit(1)).first() is not None


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
