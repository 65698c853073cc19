"""Personal API tokens on the console: every user creates and revokes their own; an admin also anyone's.

A token is shown once, on the page the creating form redirects to (``shown_once``: a reload shows the list and
makes nothing); the list shows its name, expiry, last use and state, never the secret. The pages call
``services.api_tokens`` (as ``kiemke-server apitoken`` does), which audits every creation and revocation.
Another user's token reads as unknown (404) to anyone but an admin.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request, Response
from fastapi.responses import RedirectResponse

from server.api.deps import get_engine as _engine
from server.api.deps import get_settings as _settings
from server.bounds import MAX_ID
from server.clock import utcnow
from server.console.device_detail import local_time
from server.console.forms import check_csrf
from server.console.shown_once import forget_shown, redirect_showing, take_shown
from server.console.views import ConsoleError, UserDep, View, _harden, _page, _view
from server.db import reading, writing
from server.services.api_tokens import (
    DEFAULT_DAYS,
    MAX_DAYS,
    ApiTokenError,
    ApiTokenNotFound,
    create_api_token,
    list_api_tokens,
    revoke_api_token,
)
from server.services.users import list_users

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Form(max_length=256)]
PATH = "/account/api-tokens"


def _tokens_page(request: Request, view: View, *, values: dict[str, str] | None = None,
                 problems: dict[str, str] | None = None, shown: str | None = None, status: int = 200) -> Response:
    settings, user = _settings(request), view.user
    with reading(_engine(request)) as session:
        rows = list_api_tokens(session, None if user.is_admin else user.username)
    now = utcnow()

    def when(value: datetime | None) -> str:
        return local_time(value, settings.tz, view.lang) if value is not None else ""

    tokens = [{"row": r, "state": r.state(now), "created": when(r.created_at), "expires": when(r.expires_at),
               "used": when(r.last_used_at) or view.texts("apitoken_never_used"), "revoked": when(r.revoked_at)}
              for r in rows]
    usernames = [u.username for u in list_users(_engine(request))] if user.is_admin else [user.username]
    form = values or {"name": "", "days": str(DEFAULT_DAYS), "user": user.username}
    response = _page(request, view, "api_tokens.html", tokens=tokens, values=form, problems=problems or {},
                     shown=shown, usernames=usernames, max_days=MAX_DAYS)
    response.status_code = status
    return response


@router.get(PATH)
def api_tokens(request: Request, user: UserDep) -> Response:
    """The user's API tokens (an admin: everyone's), the one just made (once), and the form for a new one."""
    view = _view(request, user, None, None)
    shown = take_shown(request, view, "api_token")
    return forget_shown(request, _tokens_page(request, view, shown=shown["secret"] if shown else None), PATH)


@router.post(PATH)
def new_api_token(request: Request, user: UserDep, csrf: Short = "", name: Short = "", days: Short = "",
                  username: Annotated[str, Form(alias="user", max_length=256)] = "") -> Response:
    """Create a token (for oneself; an admin for any user), then redirect to the list that shows it once."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    owner = username.strip() or user.username
    values = {"name": name, "days": days, "user": owner}
    problems: dict[str, str] = {}
    if owner != user.username and not user.is_admin:
        problems["user"] = view.texts("apitoken_user_refused")
    text = days.strip() or str(DEFAULT_DAYS)
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_DAYS):
        problems["days"] = view.texts("apitoken_days_refused", high=MAX_DAYS)
    if not name.strip():
        problems["name"] = view.texts("apitoken_name_refused")
    if not problems:
        try:
            with writing(_engine(request)) as session:  # the token and its shown-once copy, together
                secret, _ = create_api_token(session, owner, name, days=int(text), actor=user.username, now=utcnow())
                return redirect_showing(request, view, "api_token", {"secret": secret}, PATH, session)
        except ApiTokenError as exc:
            problems["user" if "user" in str(exc) else "name"] = str(exc)
    return _tokens_page(request, view, values=values, problems=problems, status=400)


@router.post(PATH + "/{token_id}/revoke")
def revoke(request: Request, user: UserDep, token_id: Annotated[int, Path(ge=1, le=MAX_ID)],
           csrf: Short = "") -> Response:
    """Revoke one of one's own tokens (an admin: anyone's); its next use is refused."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    try:
        with writing(_engine(request)) as session:
            revoke_api_token(session, token_id, actor=user.username, now=utcnow(),
                             owner=None if user.is_admin else user.username)
    except ApiTokenNotFound:
        raise ConsoleError(404, "not_found_title", view.texts("apitoken_not_found")) from None
    return _harden(request, RedirectResponse(PATH, status_code=303))
