"""The server's secrets handling in one place: password hashes, signed tokens, the signing key, secret digests.

Imported by the console (sessions, CSRF, sign-in links), the API (agent keys, report readers), the services
(users, enrolment) and the command line; it imports nothing of theirs.

- Passwords are hashed with scrypt (stdlib) and a random salt; checks run in constant time, and a user name
  that does not exist costs the same scrypt as one that does (``dummy_hash``).
- Tokens (session cookies, CSRF tokens inside them, one-time links) are ``body.mac``: HMAC-SHA256 over a
  purpose and a JSON body stamped with the signing time, so a token of one purpose is never accepted for
  another and every token ages out.
- The signing key is ``Settings.secret_key``; while that is still the development default, a random key kept
  in ``<data_dir>/console.key`` is used instead, so nobody can forge a session from the published default.
- Agent keys and enrolment tokens carry 32 random bytes, so a plain SHA-256 (``digest``) is a safe stored
  form for them: no slow password hash is needed for high-entropy secrets.
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
import uuid
from pathlib import Path
from typing import Any

from server.config import DEFAULT_SECRET, Settings
from shared.protocol import AGENT_KEY_PREFIX

MIN_PASSWORD = 10

# scrypt cost: 16 MiB and ~50 ms per check, well inside OpenSSL's default memory limit of 32 MiB.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_DUMMY_HASH: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- passwords ------------------------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` for a new password."""
    salt = secrets.token_bytes(16)
    digest_ = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest_)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; False for a malformed hash rather than an error."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        found = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                               dklen=len(_unb64(expected)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, _unb64(expected))


def dummy_hash() -> str:
    """A hash to check a password against when the user does not exist, so that both cost the same time."""
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


# --- high-entropy secrets: agent keys and enrolment tokens ---------------------------------------------------


def digest(secret: str) -> str:
    """The stored form of a high-entropy secret (agent key, enrolment token)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def matches_digest(secret: str, stored: str) -> bool:
    """Whether ``secret`` is the one whose digest is ``stored``, in constant time."""
    return hmac.compare_digest(stored, digest(secret))


def new_agent_key(agent_id: uuid.UUID) -> tuple[str, str]:
    """A fresh key ``kk_<agent_id>_<secret>`` and the hash the server stores."""
    secret = secrets.token_urlsafe(32)
    return f"{AGENT_KEY_PREFIX}_{agent_id}_{secret}", digest(secret)


# --- the signing key ------------------------------------------------------------------------------------------

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


# --- signed tokens --------------------------------------------------------------------------------------------


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
