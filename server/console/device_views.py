"""The device page, and the forms that correct a device's hand-kept facts or add a hand-entered asset.

Reading is for every signed-in user within their reach; the forms are for officers and admins only, and the
server refuses a viewer's POST with 403 whatever the page showed. Every POST carries the session's CSRF
token. A device outside the user's reach reads exactly like one that does not exist (404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from markupsafe import Markup

from server.api.deps import get_engine as _engine
from server.api.deps import get_settings as _settings
from server.bounds import MAX_ID
from server.clock import local_today
from server.console.auth import ConsoleUser
from server.console.device_detail import load_detail, local_time
from server.console.forms import Problems, check_csrf, form_page, saved_or_again
from server.console.timeline import worded
from server.console.views import (
    AsOf,
    ConsoleError,
    UnitQ,
    UserDep,
    View,
    _cache,
    _computed,
    _data_version,
    _page,
    _view,
    templates,
)
from server.db import reading
from server.models import Device, OrgUnit
from server.report.numbers import format_date, format_years
from server.services.assets import FORM_FIELDS, AssetForm, add_asset, edit_device
from server.services.detections import detection_entries
from server.services.history import end_of_day
from server.services.policy import Policy
from server.vocab import DEVICE_KINDS, HAND_KINDS, STATUSES

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=2000)]
Notes = Annotated[str, Form(max_length=8000)]  # checked against 2000 characters by the form, with a message
#: A device id the database can hold: a larger one is a bad parameter (400), not an overflow.
DeviceId = Annotated[int, Path(ge=1, le=MAX_ID)]


def editor(request: Request, user: UserDep) -> ConsoleUser:
    """The signed-in user when they may change records (officer or admin), else the console's 403 page."""
    if user.role not in ("admin", "officer"):
        view = _view(request, user, None, None)
        raise ConsoleError(403, "forbidden_title", view.texts("editors_only"))
    return user


EditorDep = Annotated[ConsoleUser, Depends(editor)]


def _not_found(view: View) -> ConsoleError:
    return ConsoleError(404, "not_found_title", view.texts("device_not_found"))


@router.get("/devices/new")
def new_asset_form(request: Request, user: EditorDep, unit: UnitQ = None) -> Response:
    """The form for a hand-entered asset (a scanner, a printer, a PC without an agent...)."""
    view = _view(request, user, None, unit)
    values = {"unit": view.unit or (view.choices[0].code if view.choices else ""), "kind": "scanner",
              "status": "in_use"}
    return _form(request, view, None, values, {})


@router.post("/devices/new")
def new_asset(request: Request, user: EditorDep, csrf: Text = "", name: Text = "", unit: Text = "",
              kind: Text = "", status: Text = "", vendor: Text = "", model: Text = "", serial: Text = "",
              purchased_on: Text = "", air_gapped: Text = "", notes: Notes = "") -> Response:
    """Create the asset, or show the form again with a message at each refused field."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    values = dict(zip(FORM_FIELDS, (name, unit, kind, status, vendor, model, serial, purchased_on, air_gapped,
                                    notes), strict=True))

    def save() -> str:
        saved = add_asset(_engine(request), AssetForm(values), actor=user.username,
                          allowed={c.code for c in view.choices}, today=local_today(_settings(request).tz))
        return f"/devices/{saved.device_id}?saved=1"

    return saved_or_again(request, save, lambda problems: _form(request, view, None, values, problems, status=400),
                          _not_found(view))


@router.get("/devices/{device_id}")
def device_page(request: Request, user: UserDep, device_id: DeviceId, as_of: AsOf = None, unit: UnitQ = None,
                saved: bool = False, changes: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    """One device as of the date: identity, hardware, OS, antivirus, network, age evidence, checks, timeline."""
    view = _view(request, user, as_of, unit)
    computed = _computed(request, view)
    settings = _settings(request)
    names = {u.code: u.name for u in computed.snapshot.units}
    lang, tz = view.lang, settings.tz
    with reading(_engine(request)) as session:  # one transaction for the device's rows and its detections
        detail = load_detail(session, computed.snapshot, computed.coverage.assessments, device_id, names, tz,
                             Policy.from_settings(settings), by_id=computed.by_id, monitors=computed.monitors_of,
                             timeline_page=changes,
                             kept=lambda key, build: _cache(request).remember(
                                 ("timeline", *key, _data_version(request)), build))
        if detail is None:
            raise _not_found(view)
        found = detection_entries(session, computed.snapshot, [device_id], end_of_day(computed.coverage.as_of, tz))

    def when(value: datetime | None) -> str:
        return local_time(value, tz, lang) if value else ""

    key = (lang, str(tz))
    timeline = detail.rendered.get(key)
    if timeline is None:  # once per kept history and language: a year of reports is 50 entries to word
        timeline = detail.rendered[key] = templates.get_template("device_timeline.html").render(
            timeline=worded(detail.timeline, view.texts, when))
    return _page(request, view, "device.html", d=detail, saved=saved, can_edit=user.role in ("admin", "officer"),
                 detections=found, timeline_html=Markup(timeline), when=when,  # noqa: S704 - rendered escaped
                 day=lambda value: format_date(value, lang) if value else "",
                 years=lambda value: format_years(value, lang))


def _current(request: Request, view: View, device_id: int) -> dict[str, str]:
    """The device's hand-kept facts as they stand now, as form values; 404 when out of reach."""
    with reading(_engine(request)) as session:
        device = session.get(Device, device_id)
        unit = session.get(OrgUnit, device.unit_id) if device is not None else None
    if device is None or unit is None or unit.code not in {c.code for c in view.choices}:
        raise _not_found(view)
    return {"name": device.name or "", "unit": unit.code, "kind": device.kind, "status": device.status,
            "vendor": device.vendor or "", "model": device.model or "", "serial": device.serial or "",
            "purchased_on": device.purchased_on.isoformat() if device.purchased_on else "",
            "air_gapped": "on" if device.air_gapped else "", "notes": device.notes or "",
            "agent": "yes" if device.machine_id else ""}


@router.get("/devices/{device_id}/edit")
def edit_form(request: Request, user: EditorDep, device_id: DeviceId) -> Response:
    """The form with the device's kept facts as they stand today."""
    view = _view(request, user, None, None)
    return _form(request, view, device_id, _current(request, view, device_id), {})


@router.post("/devices/{device_id}/edit")
def edit(request: Request, user: EditorDep, device_id: DeviceId, csrf: Text = "", name: Text = "", unit: Text = "",
         kind: Text = "", status: Text = "", vendor: Text = "", model: Text = "", serial: Text = "",
         purchased_on: Text = "", air_gapped: Text = "", notes: Notes = "") -> Response:
    """Save the corrections as a new version (audited), or show the form again with each field's problem."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    values = dict(zip(FORM_FIELDS, (name, unit, kind, status, vendor, model, serial, purchased_on, air_gapped,
                                    notes), strict=True))

    def save() -> str:
        edit_device(_engine(request), device_id, AssetForm(values), actor=user.username,
                    allowed={c.code for c in view.choices}, today=local_today(_settings(request).tz))
        return f"/devices/{device_id}?saved=1"

    def again(problems: Problems) -> Response:
        values["agent"] = _current(request, view, device_id)["agent"]
        return _form(request, view, device_id, values, problems, status=400)

    return saved_or_again(request, save, again, _not_found(view))


def _form(request: Request, view: View, device_id: int | None, values: dict[str, str], problems: Problems,
          status: int = 200) -> Response:
    kinds = DEVICE_KINDS if device_id is not None else HAND_KINDS
    return form_page(request, view, "device_form.html", problems, status, device_id=device_id, values=values,
                     kinds=kinds, statuses=STATUSES)
