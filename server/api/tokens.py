"""The read API's caller: a personal API token (``Authorization: Bearer kkr_...``) and the scope it reaches.

Self-contained on purpose (the console's session code is not imported): a token acts as its user, with the
user's role and unit as they stand at each request. A missing, unknown, expired or revoked token, or one
whose user is disabled, is a 401; a unit outside the user's subtree is a 403 (an unknown unit reads the same
to a user bound to a unit, so the API does not confirm which units exist).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from server.api.deps import EngineDep
from server.clock import utcnow
from server.db import one_statement, writing
from server.models import OrgUnit, table_of
from server.services.api_tokens import ApiCaller, Refused, authenticate, note_refusal, note_use
from server.services.state import UnitState
from server.services.unit_tree import UnitTree

#: Documents the scheme in the OpenAPI; the check itself is ``api_caller`` (so every refusal is our 401).
bearer = HTTPBearer(auto_error=False, scheme_name="ApiToken",
                    description="A personal API token (kkr_...), created on the console's account page or with "
                                "`kiemke-server apitoken create`")

_WHY = {"unknown": "the API token is not valid", "expired": "the API token has expired",
        "revoked": "the API token was revoked", "disabled": "the API token's user may no longer sign in"}


def api_caller(request: Request, engine: EngineDep,
               credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> ApiCaller:
    """The user a valid personal API token speaks for; 401 otherwise."""
    challenge = {"WWW-Authenticate": 'Bearer realm="kiemke"'}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "send a personal API token: Authorization: Bearer kkr_...",
                            headers=challenge)
    now = utcnow()
    try:
        with one_statement(engine).connect() as conn:
            caller, stale = authenticate(conn, credentials.credentials, now)
    except Refused as refused:
        if refused.reason == "revoked":
            with writing(engine) as session:
                note_refusal(session, refused, now)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, _WHY[refused.reason], headers=challenge) from None
    if stale:
        with writing(engine) as session:
            note_use(session, caller.token_id, now)
    return caller


ApiCallerDep = Annotated[ApiCaller, Depends(api_caller)]


@dataclass(frozen=True)
class Reach:
    """The units a caller may read now: every code when unbound, else their unit's subtree."""

    caller: ApiCaller
    codes: frozenset[str]
    all_codes: frozenset[str]

    def scope(self, unit: str | None) -> str | None:
        """The root of the scope asked for (default: the caller's own unit); 403 when out of reach or unknown."""
        if unit is None or unit == "":
            return self.caller.unit_code
        if unit in self.codes:
            return unit
        if self.caller.unit_code is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no unit {unit!r}")
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"this token sees only unit {self.caller.unit_code} and below")


def reach_of(engine: Engine, caller: ApiCaller) -> Reach:
    """The caller's reach on today's tree (who may see what is decided on the units as they stand now)."""
    unit = table_of(OrgUnit)
    parent = unit.alias("parent")
    query = sa.select(unit.c.code, parent.c.code).select_from(unit.outerjoin(parent, unit.c.parent_id == parent.c.id))
    with one_statement(engine).connect() as conn:
        pairs = [(code, parent_code) for code, parent_code in conn.execute(query)]
    everything = frozenset(code for code, _ in pairs)
    if caller.unit_code is None:
        return Reach(caller, everything, everything)
    tree = UnitTree(UnitState(code, code, "other", parent_code) for code, parent_code in pairs)
    return Reach(caller, frozenset(tree.subtree(caller.unit_code)), everything)


def caller_reach(engine: EngineDep, caller: ApiCallerDep) -> Reach:
    """The dependency the read API's routes take."""
    return reach_of(engine, caller)


ReachDep = Annotated[Reach, Depends(caller_reach)]
