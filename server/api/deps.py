"""FastAPI dependencies as ``Annotated`` aliases: the settings, the engine, a read session, the signed-in user
and the report reader.

The API and the console read the same session cookie through ``signed_in_user``; this module, not the
console, owns it, so ``server.api`` never imports ``server.console`` (a meta-test keeps it so).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.engine import Engine
from sqlmodel import Session

from server.config import Settings
from server.db import reading
from server.security import signing_key
from server.services.reach import current_units, reachable
from server.services.users import ConsoleUser, user_from_session

SESSION_COOKIE = "kiemke_session"


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    """The app's database engine."""
    engine: Engine = request.app.state.engine
    return engine


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """A read session for one request."""
    with reading(engine) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session)]


def signed_in_user(request: Request) -> ConsoleUser | None:
    """The user whose valid session cookie came with the request, else None."""
    return user_from_session(get_engine(request), signing_key(get_settings(request)),
                             request.cookies.get(SESSION_COOKIE))


def current_user(request: Request) -> ConsoleUser:
    """The signed-in user, else 401 (the console turns its own absence of a user into the sign-in page)."""
    user = signed_in_user(request)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in to the console first")
    return user


CurrentUser = Annotated[ConsoleUser, Depends(current_user)]


def report_reader(request: Request, user: CurrentUser) -> ConsoleUser:
    """Who may read ``/api/v1/report*``: a signed-in user whose reach covers ``?unit=`` (401/403 otherwise).

    A user bound to a unit must name a unit of their subtree; kept reports by id are for unbound users only,
    since the unit of a kept report is known only once it is read.
    """
    if user.unit_code is None:
        return user
    unit = request.query_params.get("unit")
    allowed = {c.code for c in reachable(current_units(get_engine(request)), user.unit_code)}
    if unit not in allowed or request.url.path.rstrip("/").split("/")[-1].isdigit():
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this account sees only unit {user.unit_code} and below")
    return user


ReportReader = Annotated[ConsoleUser, Depends(report_reader)]
