"""The form that corrects a unit's hand-kept facts: officers and admins within their reach, CSRF, audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from sqlmodel import select

from server.api.deps import get_engine as _engine
from server.console.device_views import EditorDep, Text
from server.console.forms import Problems, check_csrf, form_page, saved_or_again
from server.console.views import ConsoleError, View, _view
from server.db import reading
from server.models import OrgUnit
from server.services.unit_edits import UNIT_FORM_FIELDS, edit_unit
from server.vocab import INTERNET_LINKS as INTERNET
from server.vocab import UNIT_KINDS

router = APIRouter(include_in_schema=False)
Code = Annotated[str, Form(max_length=64)]


def _not_found(view: View) -> ConsoleError:
    return ConsoleError(404, "not_found_title", view.texts("not_found"))


def _current(request: Request, view: View, code: str) -> dict[str, str]:
    if code not in {c.code for c in view.choices}:
        raise _not_found(view)
    with reading(_engine(request)) as session:
        units = {u.id: u for u in session.exec(select(OrgUnit))}
    unit = next((u for u in units.values() if u.code == code), None)
    if unit is None:
        raise _not_found(view)
    parent = units.get(unit.parent_id) if unit.parent_id is not None else None

    def tri(value: bool | None) -> str:
        return "" if value is None else ("yes" if value else "no")

    return {"name": unit.name, "kind": unit.kind, "parent": parent.code if parent else "",
            "staff": "" if unit.staff is None else str(unit.staff), "lan": tri(unit.lan), "wifi": tri(unit.wifi),
            "wan": tri(unit.wan), "internet": unit.internet or "", "one_stop_shop": "on" if unit.one_stop_shop else "",
            "parent_name": parent.name if parent else ""}


@router.get("/units/{code}/edit")
def unit_form(request: Request, user: EditorDep, code: str) -> Response:
    """The unit's facts as they stand today, in a form."""
    view = _view(request, user, None, None)
    return _form(request, view, code, _current(request, view, code), {})


@router.post("/units/{code}/edit")
def unit_edit(request: Request, user: EditorDep, code: str, csrf: Text = "", name: Text = "", kind: Text = "",
              parent: Text = "", staff: Text = "", lan: Text = "", wifi: Text = "", wan: Text = "",
              internet: Text = "", one_stop_shop: Text = "") -> Response:
    """Save the unit as a new version (audited), or the form again with each refused field's message."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    values = dict(zip(UNIT_FORM_FIELDS, (name, kind, parent, staff, lan, wifi, wan, internet, one_stop_shop),
                      strict=True))

    def save() -> str:
        edit_unit(_engine(request), code, values, actor=user.username, allowed={c.code for c in view.choices})
        return view.link("/units", saved=code)

    def again(problems: Problems) -> Response:
        values["parent_name"] = _current(request, view, code)["parent_name"]
        return _form(request, view, code, values, problems, status=400)

    return saved_or_again(request, save, again, _not_found(view))


def _form(request: Request, view: View, code: str, values: dict[str, str], problems: Problems,
          status: int = 200) -> Response:
    return form_page(request, view, "unit_form.html", problems, status, code=code, values=values, kinds=UNIT_KINDS,
                     internet=INTERNET)
