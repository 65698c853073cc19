"""Enrolment tokens seen and revoked by the officer: listing, and revocation by id, token or fingerprint.

Only a SHA-256 hash of each token is stored; its first twelve hex digits are the token's fingerprint, shown
by ``token list`` and accepted by ``token revoke`` as well as the id or the token itself.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from server.models import EnrolmentToken, OrgUnit, table_of
from server.security import digest
from server.services.records import audit

FINGERPRINT = 12
MIN_PREFIX = 6


class TokenNotFound(LookupError):
    """No token, or more than one, matches what was asked for."""


@dataclass(frozen=True)
class TokenRow:
    """One enrolment token as the officer sees it (never the token itself)."""

    id: int
    fingerprint: str
    unit: str
    created_at: datetime
    expires_at: datetime
    created_by: str | None
    uses: int
    max_uses: int | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        """revoked, expired, used up or active."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        if self.max_uses is not None and self.uses >= self.max_uses:
            return "used up"
        return "active"


def list_tokens(session: Session, unit_code: str | None = None, *,
                within: Collection[str] | None = None) -> list[TokenRow]:
    """Every token (of one unit when asked, of the units ``within`` when given), newest first."""
    unit = table_of(OrgUnit)
    query = select(EnrolmentToken, unit.c.code).join(unit, unit.c.id == EnrolmentToken.unit_id)
    if unit_code is not None:
        query = query.where(unit.c.code == unit_code)
    if within is not None:
        query = query.where(unit.c.code.in_(sorted(within)))
    rows = session.exec(query.order_by(col(EnrolmentToken.id).desc())).all()
    return [TokenRow(t.id or 0, t.token_hash[:FINGERPRINT], code, t.created_at, t.expires_at, t.created_by, t.uses,
                     t.max_uses, t.revoked_at) for t, code in rows]


def find_token(session: Session, wanted: str) -> EnrolmentToken:
    """The token whose id, plain text or fingerprint (at least six hex digits) is ``wanted``."""
    wanted = wanted.strip()
    if wanted.isdigit() and len(wanted) < 10:
        token = session.get(EnrolmentToken, int(wanted))
        if token is not None:
            return token
    by_hash = select(EnrolmentToken).where(EnrolmentToken.token_hash == digest(wanted))
    exact: EnrolmentToken | None = session.exec(by_hash).first()
    if exact is not None:
        return exact
    prefix = wanted.lower()
    if len(prefix) >= MIN_PREFIX and all(c in "0123456789abcdef" for c in prefix):
        matches = session.exec(select(EnrolmentToken).where(
            sa.func.substr(EnrolmentToken.token_hash, 1, len(prefix)) == prefix).limit(2)).all()
        if len(matches) == 1:
            only: EnrolmentToken = matches[0]
            return only
        if len(matches) > 1:
            raise TokenNotFound(f"{wanted!r} matches several tokens: give more digits or the id")
    raise TokenNotFound(f"no enrolment token {wanted!r} (give its id or fingerprint from 'token list', or the token)")


def revoke_token(session: Session, wanted: str, *, actor: str, now: datetime,
                 within: Collection[str] | None = None) -> tuple[EnrolmentToken, bool]:
    """Revoke the token (audited); False when it already was. Outside the units ``within``, it is not found."""
    token = find_token(session, wanted)
    if within is not None:
        unit = session.get(OrgUnit, token.unit_id)
        if unit is None or unit.code not in within:
            raise TokenNotFound(f"no enrolment token {wanted!r} in this scope")
    if token.revoked_at is not None:
        return token, False
    token.revoked_at = now
    session.add(token)
    audit(session, actor, "token.revoke", now, token_id=token.id, fingerprint=token.token_hash[:FINGERPRINT])
    return token, True
