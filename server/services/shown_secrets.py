"""New secrets kept between a form's POST and the page it redirects to, so that each is shown exactly once.

A form that makes a secret (an API token, an enrolment token, a password) answers with a redirect (303), so a
reload of the page that follows repeats a GET and makes nothing. The secret waits in the database (every
replica sees it) for that GET only: sealed with AES-GCM under a key derived from a random reference that only
the creator's browser holds (in a cookie, never in a URL), found by the reference's SHA-256, for the same user
and page only, deleted when taken, and cleared unseen after ``LIFETIME``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import Session

from server.models import ShownSecret, table_of

LIFETIME = timedelta(minutes=5)
PURPOSES = ("api_token", "enrolment_token", "password")
_TABLE = table_of(ShownSecret)


def _ref_hash(reference: str) -> str:
    return hashlib.sha256(b"kiemke shown secret id|" + reference.encode()).hexdigest()


def _key(reference: str) -> bytes:
    return hashlib.sha256(b"kiemke shown secret key|" + reference.encode()).digest()


def _aad(user_id: int, purpose: str) -> bytes:
    return f"{purpose}|{user_id}".encode()


def keep_secret(session: Session, *, user_id: int, purpose: str, values: dict[str, str], now: datetime) -> str:
    """Keep ``values`` sealed for ``user_id``'s next ``purpose`` page (expired ones cleared first); the reference."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    session.execute(sa.delete(_TABLE).where(_TABLE.c.expires_at <= now))
    reference = secrets.token_urlsafe(32)
    nonce = secrets.token_bytes(12)
    sealed = nonce + AESGCM(_key(reference)).encrypt(nonce, json.dumps(values).encode(), _aad(user_id, purpose))
    session.execute(sa.insert(_TABLE).values(ref_hash=_ref_hash(reference), user_id=user_id, purpose=purpose,
                                             sealed=sealed, created_at=now, expires_at=now + LIFETIME))
    return reference


def take_secret(session: Session, reference: str, *, user_id: int, purpose: str,
                now: datetime) -> dict[str, str] | None:
    """The values kept under ``reference`` for this user and page, removed; None when there are none (never
    kept, another user's or page's, expired, or already taken, also by a concurrent request)."""
    t = _TABLE.c
    row = session.execute(sa.select(t.id, t.user_id, t.purpose, t.sealed, t.expires_at)
                          .where(t.ref_hash == _ref_hash(reference))).first()
    if row is None or row.user_id != user_id or row.purpose != purpose:
        return None
    taken = session.execute(sa.delete(_TABLE).where(t.id == row.id).returning(t.id)).first()
    if taken is None or row.expires_at <= now:
        return None
    sealed = bytes(row.sealed)
    try:
        plain = AESGCM(_key(reference)).decrypt(sealed[:12], sealed[12:], _aad(user_id, purpose))
    except InvalidTag:
        return None
    values = json.loads(plain)
    return {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else None
