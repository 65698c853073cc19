"""Antivirus licences (admin): the licences in force, add one, correct one, retire one.

Licences are allotted district-wide (a unit's own licence still counts in the district's seats), so they are
an administrator's, like the licences import. Every change goes through ``services.licence_edits``:
versioned like the import, audited with the old and new values, CSRF-checked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request, Response
from fastapi.responses import RedirectResponse

from server.api.deps import get_engine as _engine
from server.bounds import MAX_ID
from server.console.forms import check_csrf
from server.console.user_views import AdminDep
from server.console.views import ConsoleError, View, _harden, _page, _view
from server.report.numbers import format_date
from server.services.assets import AssetForm, FormError
from server.services.licence_edits import (
    FORM_FIELDS,
    add_licence,
    current_licences,
    edit_licence,
    licence_values,
    retire_licence,
)

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=1024)]
LicenceId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/licences")
def licences(request: Request, user: AdminDep) -> Response:
    """The licences in force, with links to correct or retire each."""
    view = _view(request, user, None, None)
    names = {c.code: c.name for c in view.choices}
    lines = current_licences(_engine(request))
    return _page(request, view, "licences.html", lines=lines, names=names,
                 day=lambda value: format_date(value, view.lang) if value else "—",
                 retired=request.query_params.get("retired") == "1")


def _form(request: Request, view: View, licence_id: int | None, values: dict[str, str],
          problems: dict[str, tuple[str, dict[str, object]]], status: int = 200) -> Response:
    errors = {name: view.texts(key, **args) for name, (key, args) in problems.items()}
    response = _page(request, view, "licence_form.html", licence_id=licence_id, values=values, errors=errors)
    response.status_code = status
    return response


@router.get("/licences/new")
def new_form(request: Request, user: AdminDep) -> Response:
    """The form for a new licence."""
    return _form(request, _view(request, user, None, None), None, {"seats": "", "unit": ""}, {})


@router.post("/licences/new")
def new(request: Request, user: AdminDep, csrf: Text = "", product: Text = "", seats: Text = "",
        valid_from: Text = "", valid_to: Text = "", unit: Text = "") -> Response:
    """Add the licence, or show the form again with a message at each refused field."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    values = dict(zip(FORM_FIELDS, (product, seats, valid_from, valid_to, unit), strict=True))
    try:
        add_licence(_engine(request), AssetForm(values), actor=user.username)
    except FormError as exc:
        return _form(request, view, None, values, exc.problems, status=400)
    return _harden(request, RedirectResponse("/licences", status_code=303))


def _not_found(view: View) -> ConsoleError:
    return ConsoleError(404, "not_found_title", view.texts("licence_not_found"))


@router.get("/licences/{licence_id}/edit")
def edit_form(request: Request, user: AdminDep, licence_id: LicenceId) -> Response:
    """The form with the licence as it stands."""
    view = _view(request, user, None, None)
    values = licence_values(_engine(request), licence_id)
    if values is None:
        raise _not_found(view)
    return _form(request, view, licence_id, values, {})


@router.post("/licences/{licence_id}/edit")
def edit(request: Request, user: AdminDep, licence_id: LicenceId, csrf: Text = "", product: Text = "",
         seats: Text = "", valid_from: Text = "", valid_to: Text = "", unit: Text = "") -> Response:
    """Save the correction as a new version (audited)."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    values = dict(zip(FORM_FIELDS, (product, seats, valid_from, valid_to, unit), strict=True))
    try:
        edit_licence(_engine(request), licence_id, AssetForm(values), actor=user.username)
    except LookupError:
        raise _not_found(view) from None
    except FormError as exc:
        return _form(request, view, licence_id, values, exc.problems, status=400)
    return _harden(request, RedirectResponse("/licences", status_code=303))


@router.post("/licences/{licence_id}/retire")
def retire(request: Request, user: AdminDep, licence_id: LicenceId, csrf: Text = "") -> Response:
    """End the licence from now on; earlier dates keep it."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    try:
        retire_licence(_engine(request), licence_id, actor=user.username)
    except LookupError:
        raise _not_found(view) from None
    return _harden(request, RedirectResponse("/licences?retired=1", status_code=303))
