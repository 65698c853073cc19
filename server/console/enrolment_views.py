"""Enrolment tokens and agents: create and revoke tokens per unit, list agents and take a key back.

Admins see every unit; an officer sees and manages the tokens and agents of their own unit's subtree (they
enrol that subtree's PCs); viewers never. The pages call the same services as ``kiemke-server token`` and
``agents``, which audit every creation and revocation. A token is shown once, on the page the creating form
redirects to (``shown_once``: a reload shows the list and makes nothing).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from server.api.deps import get_engine as _engine
from server.api.deps import get_settings as _settings
from server.clock import utcnow
from server.console.data import current_units, reachable
from server.console.device_detail import local_time
from server.console.device_views import EditorDep
from server.console.forms import check_csrf
from server.console.shown_once import forget_shown, redirect_showing, take_shown
from server.console.views import ConsoleError, UnitQ, View, _harden, _page, _view
from server.db import reading, writing
from server.services.enrolment import EnrolmentError, create_token, list_agents, revoke
from server.services.token_admin import TokenNotFound, list_tokens, revoke_token

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Form(max_length=64)]
MAX_DAYS = 3660
MAX_USES = 100_000


def _scope(request: Request, view: View) -> set[str]:
    """The unit codes shown: the subtree of the unit picked (within the user's reach, checked by ``_view``)."""
    if view.unit is None:
        return {c.code for c in view.choices}
    return {c.code for c in reachable(current_units(_engine(request)), view.unit)}


def _reach(view: View) -> set[str]:
    """Every unit the user may act on."""
    return {c.code for c in view.choices}


def _whole_number(text: str, low: int, high: int) -> int:
    text = text.strip()
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(text)
    return int(text)


# --- enrolment tokens -----------------------------------------------------------------------------------------


def _tokens_page(request: Request, view: View, *, values: dict[str, str] | None = None,
                 problems: dict[str, str] | None = None, shown: str | None = None, status: int = 200) -> Response:
    settings = _settings(request)
    with reading(_engine(request)) as session:
        rows = list_tokens(session, within=_scope(request, view))
    now = utcnow()
    names = {c.code: c.name for c in view.choices}
    tokens = [{"row": r, "state": r.state(now), "unit_name": names.get(r.unit, r.unit),
               "created": local_time(r.created_at, settings.tz, view.lang),
               "expires": local_time(r.expires_at, settings.tz, view.lang),
               "revoked": local_time(r.revoked_at, settings.tz, view.lang) if r.revoked_at else ""} for r in rows]
    form = values or {"unit": view.unit or (view.choices[0].code if view.choices else ""),
                      "days": str(settings.token_days), "max_uses": ""}
    response = _page(request, view, "tokens.html", tokens=tokens, values=form, problems=problems or {},
                     shown=shown)
    response.status_code = status
    return response


@router.get("/tokens")
def tokens(request: Request, user: EditorDep, unit: UnitQ = None) -> Response:
    """The enrolment tokens of the scope with their uses, expiry and state, the one just made (once), and the form
    for a new one."""
    view = _view(request, user, None, unit)
    shown = take_shown(request, view, "enrolment_token")
    return forget_shown(request, _tokens_page(request, view, shown=shown["secret"] if shown else None), "/tokens")


@router.post("/tokens")
def new_token(request: Request, user: EditorDep, csrf: Short = "", unit: Short = "", days: Short = "",
              max_uses: Short = "") -> Response:
    """Create a token for a unit within reach, then redirect to the list that shows it once."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    values = {"unit": unit, "days": days, "max_uses": max_uses}
    problems: dict[str, str] = {}
    lifetime = 0
    if unit not in _reach(view):
        problems["unit"] = view.texts("token_unit_refused")
    try:
        lifetime = _whole_number(days, 1, MAX_DAYS)
    except ValueError:
        problems["days"] = view.texts("token_days_refused", high=MAX_DAYS)
    uses: int | None = None
    if max_uses.strip():
        try:
            uses = _whole_number(max_uses, 1, MAX_USES)
        except ValueError:
            problems["max_uses"] = view.texts("token_uses_refused", high=MAX_USES)
    if problems:
        return _tokens_page(request, view, values=values, problems=problems, status=400)
    try:
        with writing(_engine(request)) as session:  # the token and its shown-once copy, together
            plain, _ = create_token(session, unit, days=lifetime, actor=user.username, max_uses=uses)
            return redirect_showing(request, view, "enrolment_token", {"secret": plain}, "/tokens", session)
    except EnrolmentError:
        return _tokens_page(request, view, values=values, problems={"unit": view.texts("token_unit_refused")},
                            status=400)


@router.post("/tokens/{token_id}/revoke")
def revoke_enrolment_token(request: Request, user: EditorDep, token_id: int, csrf: Short = "") -> Response:
    """Revoke a token of a unit within reach (audited): enrolment with it is then refused."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    try:
        with writing(_engine(request)) as session:
            revoke_token(session, str(token_id), actor=user.username, now=utcnow(), within=_reach(view))
    except TokenNotFound:
        raise ConsoleError(404, "not_found_title", view.texts("token_not_found")) from None
    return _harden(request, RedirectResponse("/tokens", status_code=303))


# --- agents ---------------------------------------------------------------------------------------------------


@router.get("/agents")
def agents(request: Request, user: EditorDep, unit: UnitQ = None) -> Response:
    """The agents of the scope: unit, device, version, last seen, reports received and the key's state."""
    view = _view(request, user, None, unit)
    tz = _settings(request).tz
    with reading(_engine(request)) as session:
        rows = list_agents(session, within=_scope(request, view))
    names = {c.code: c.name for c in view.choices}
    listed = [{"row": r, "unit_name": names.get(r.unit, r.unit),
               "enrolled": local_time(r.created_at, tz, view.lang),
               "last_seen": local_time(r.last_seen, tz, view.lang) if r.last_seen else "",
               "revoked": local_time(r.revoked_at, tz, view.lang) if r.revoked_at else ""} for r in rows]
    return _page(request, view, "agents.html", agents=listed,
                 revoked_now=request.query_params.get("revoked") == "1")


@router.post("/agents/{agent_id}/revoke")
def revoke_agent(request: Request, user: EditorDep, agent_id: str, csrf: Short = "") -> Response:
    """Take back a live agent's key within reach (audited): its next report gets 401 and it must enrol again."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    try:
        wanted = uuid.UUID(agent_id)
    except ValueError:
        raise ConsoleError(404, "not_found_title", view.texts("agent_not_found")) from None
    with writing(_engine(request)) as session:
        done = revoke(session, wanted, actor=user.username, within=_reach(view))
    if not done:
        raise ConsoleError(404, "not_found_title", view.texts("agent_not_found"))
    return _harden(request, RedirectResponse("/agents?revoked=1", status_code=303))
