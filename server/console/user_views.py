"""Users (admin): create with a role and a unit scope, disable or enable, reset a password (shown once, on the
page the form redirects to: ``shown_once``); and every user's own password. Every POST carries the session's
CSRF token and is audited by ``services.users``.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from server.api.deps import get_engine as _engine
from server.console.forms import check_csrf
from server.console.shown_once import forget_shown, redirect_showing, take_shown
from server.console.views import ConsoleError, UserDep, View, _harden, _page, _signed_in, _view
from server.db import reading
from server.models import User
from server.services.users import (
    ROLES,
    ConsoleUser,
    UserError,
    change_password,
    create_user,
    list_users,
    reset_password,
    set_contact,
    set_disabled,
)

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Form(max_length=1024)]


def admin_user(request: Request, user: UserDep) -> ConsoleUser:
    """The signed-in admin, else the console's 403 page."""
    if not user.is_admin:
        raise ConsoleError(403, "forbidden_title", _view(request, user, None, None).texts("admin_only"))
    return user


AdminDep = Annotated[ConsoleUser, Depends(admin_user)]


def _users_page(request: Request, view: View, *, error: str | None = None, shown: tuple[str, str] | None = None,
                status: int = 200) -> Response:
    response = _page(request, view, "users.html", users=list_users(_engine(request)), roles=ROLES, error=error,
                     shown=shown)
    response.status_code = status
    return response


@router.get("/users")
def users(request: Request, user: AdminDep) -> Response:
    """Every console user, the password just made (once), and the form to add one."""
    view = _view(request, user, None, None)
    shown = take_shown(request, view, "password")
    pair = (shown["user"], shown["secret"]) if shown else None
    return forget_shown(request, _users_page(request, view, shown=pair), "/users")


@router.post("/users")
def add_user(request: Request, user: AdminDep, csrf: Short = "", username: Short = "", role: Short = "viewer",
             unit: Short = "") -> Response:
    """Create a user with a random first password, then redirect to the list that shows it once."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    password = secrets.token_urlsafe(12)
    try:
        create_user(_engine(request), username, password, role, unit or None, actor=user.username)
    except UserError as exc:
        return _users_page(request, view, error=str(exc), status=400)
    return redirect_showing(request, view, "password", {"user": username.strip(), "secret": password}, "/users")


@router.post("/users/{username}/{action}")
def change_user(request: Request, user: AdminDep, username: str, action: str, csrf: Short = "", email: Short = "",
                lang: Short = "vi") -> Response:
    """``disable``, ``enable``, ``reset-password`` one user, or set their alert ``contact`` (e-mail, language)."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    engine = _engine(request)
    try:
        if action in ("disable", "enable"):
            set_disabled(engine, username, action == "disable", user.username)
        elif action == "contact":
            set_contact(engine, username, email, lang, user.username)
        elif action == "reset-password":
            password = reset_password(engine, username, user.username)
            return redirect_showing(request, view, "password", {"user": username, "secret": password}, "/users")
        else:
            raise ConsoleError(404, "not_found_title", view.texts("not_found"))
    except UserError as exc:
        return _users_page(request, view, error=str(exc), status=400)
    return _harden(request, RedirectResponse("/users", status_code=303))


@router.get("/account")
def account(request: Request, user: UserDep) -> Response:
    """The signed-in user's own account: change the password."""
    changed = request.query_params.get("changed") == "1"
    return _page(request, _view(request, user, None, None), "account.html", error=None, request_changed=changed)


@router.post("/account/password")
def own_password(request: Request, user: UserDep, csrf: Short = "", current: Short = "", new: Short = "",
                 again: Short = "") -> Response:
    """Change one's own password; the session continues with a new cookie, every other session ends."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    engine = _engine(request)
    try:
        if new != again:
            raise UserError(view.texts("passwords_differ"))
        change_password(engine, user.username, current, new)
    except UserError as exc:
        response = _page(request, view, "account.html", error=str(exc), request_changed=False)
        response.status_code = 400
        return response
    with reading(engine) as session:
        row = session.get(User, user.id)
    assert row is not None
    return _signed_in(request, row, "/account?changed=1")
