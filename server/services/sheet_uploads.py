"""Sheets uploaded on the console's import page, kept between the preview and the commit.

The preview and the commit must read the same bytes, and the browser is not trusted to send them twice: the
upload is kept in the database (every replica sees it) under the SHA-256 of a random token that only the
uploader's page holds, with the content's own SHA-256, checked again before the commit. It is bounded in
size, expires after an hour, may be committed once (then deleted) and only by the person who uploaded it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from server.models import SheetUpload, table_of

MAX_BYTES = 20 * 1024 * 1024
LIFETIME = timedelta(hours=1)


class UploadGone(LookupError):
    """No such upload for this person: never made, expired, already committed, or altered."""


@dataclass(frozen=True)
class Kept:
    """An upload as read back for its commit."""

    kind: str
    file_name: str
    sha256: str
    content: bytes


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def keep_upload(session: Session, *, username: str, kind: str, file_name: str, content: bytes,
                now: datetime) -> tuple[str, str]:
    """Keep the upload (expired ones are cleared first); (its token, the content's SHA-256)."""
    if len(content) > MAX_BYTES:
        raise ValueError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    session.execute(sa.delete(table_of(SheetUpload)).where(table_of(SheetUpload).c.expires_at <= now))
    token = secrets.token_urlsafe(24)
    sha = _digest(content)
    session.add(SheetUpload(token_hash=_digest(token.encode()), username=username, kind=kind,
                            file_name=file_name[:256], sha256=sha, content=content, created_at=now,
                            expires_at=now + LIFETIME))
    return token, sha


def take_upload(session: Session, token: str, *, username: str, kind: str, now: datetime) -> Kept:
    """The upload behind ``token`` for its uploader, removed so that it is committed once; ``UploadGone``."""
    row = session.exec(select(SheetUpload).where(SheetUpload.token_hash == _digest(token.encode()))).first()
    if row is None or row.username != username or row.kind != kind or row.expires_at <= now:
        raise UploadGone(token)
    kept = Kept(row.kind, row.file_name, row.sha256, bytes(row.content))
    session.delete(row)
    if _digest(kept.content) != kept.sha256:
        raise UploadGone(token)
    return kept
