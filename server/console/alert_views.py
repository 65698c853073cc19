"""The alerts page: the scope's alerts with filters (state, rule, unit), paged a hundred at a time,
acknowledgement, and the antivirus licences about to expire or expired (issue 13's list).

Everyone signed in reads the alerts of their unit's subtree (district-wide ones too); officers and admins
acknowledge with a comment (CSRF, audited by ``alerts.store``); a viewer's POST is refused with 403. The
licence list is computed from today's snapshot by the same rules as the licence alerts (``alerts.rules``).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from server.alerts.rules import RULES, Condition, licence_conditions
from server.alerts.store import (
    LIVE,
    STATES,
    AlertError,
    acknowledge,
    count_alerts,
    count_by_state,
    list_alerts,
)
from server.alerts.texts import summary
from server.api.deps import get_engine as _engine
from server.api.deps import get_settings as _settings
from server.bounds import MAX_ID
from server.clock import utcnow
from server.console.device_detail import local_time
from server.console.device_views import EditorDep
from server.console.forms import check_csrf
from server.console.views import (
    ConsoleError,
    UnitQ,
    UserDep,
    View,
    _cache,
    _computed,
    _data_version,
    _harden,
    _page,
    _versions,
    _view,
)
from server.db import reading, writing
from server.report.numbers import format_count, format_date
from server.services.policy import Policy

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100
StateQ = Annotated[str | None, Query(max_length=16)]
RuleQ = Annotated[str | None, Query(max_length=32)]
AlertId = Annotated[int, Path(ge=1, le=MAX_ID)]


def scope_codes(request: Request, view: View) -> set[str] | None:
    """The unit codes of the page's scope; None for everything (a user bound to no unit, no unit picked)."""
    if view.unit is None:
        return None
    return {c.code for c in _cache(request).choices(_engine(request), _data_version(request), view.unit)}


def open_alerts(request: Request, view: View) -> tuple[int, int]:
    """(open, live) alerts of the view's scope: the overview's badge, counted again only when an alert opened,
    was acknowledged or was resolved (``Versions.alerts``)."""
    def count() -> tuple[int, int]:
        with reading(_engine(request)) as session:
            counts = count_by_state(session, scope_codes(request, view))
        return counts["open"], counts["open"] + counts["acknowledged"]

    versions = _versions(request)
    return _cache(request).remember(("alerts", str(_engine(request).url), versions.alerts, versions.data, view.unit),
                                    count)


def _licences(request: Request, view: View, scope: set[str] | None) -> list[dict[str, Any]]:
    computed = _computed(request, view)
    policy = Policy.from_settings(_settings(request))
    names = {u.code: u.name for u in computed.snapshot.units}
    devices = {d.id: d.name or d.hostname or str(d.id) for d in computed.snapshot.devices}

    def row(c: Condition) -> dict[str, Any]:
        ends = c.detail.get("ends")
        days = c.detail.get("days_left")
        return {"condition": c, "product": c.detail.get("product") or c.subject,
                "device": devices.get(c.device_id) if c.device_id is not None else None,
                "unit": names.get(c.unit_code, c.unit_code) if c.unit_code else view.texts("alert_district_wide"),
                "ends": format_date(date.fromisoformat(str(ends)), view.lang) if ends else "",
                "days_left": days, "seats": c.detail.get("seats"), "used": c.detail.get("used"),
                "source": str(c.detail.get("evidence", "register")), "expired": c.rule == "licence_expired"}

    found = licence_conditions(computed.snapshot, policy, scope)
    return [row(c) for c in sorted(found, key=lambda c: (c.rule != "licence_expired", str(c.detail.get("ends")),
                                                          c.subject))]


@router.get("/alerts")
def alerts(request: Request, user: UserDep, unit: UnitQ = None, state: StateQ = None, rule: RuleQ = None,
           acked: Annotated[str | None, Query(max_length=4)] = None,
           page: Annotated[int, Query(ge=1, le=1_000_000)] = 1) -> Response:
    """The scope's alerts newest first (live ones unless a state is picked), a page of ``PAGE_SIZE`` at a time
    (a page past the last shows the last), and the licences ending soon."""
    view = _view(request, user, None, unit)
    if state not in (*STATES, "all"):
        state = None
    if rule not in RULES:
        rule = None
    scope = scope_codes(request, view)
    states = list(LIVE) if state is None else None if state == "all" else [state]
    tz = _settings(request).tz
    rules = [rule] if rule else None
    with reading(_engine(request)) as session:
        total = count_alerts(session, units=scope, states=states, rules=rules)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(page, pages)
        first = (page - 1) * PAGE_SIZE
        rows = list_alerts(session, units=scope, states=states, rules=rules, limit=PAGE_SIZE, offset=first)
        counts = count_by_state(session, scope)
    lines = [{"a": a, "opened": local_time(a.opened_at, tz, view.lang),
              "acked": local_time(a.acknowledged_at, tz, view.lang) if a.acknowledged_at else "",
              "resolved": local_time(a.resolved_at, tz, view.lang) if a.resolved_at else "",
              "about": summary(a.rule, a.subject, a.detail)} for a in rows]
    return _page(request, view, "alerts.html", lines=lines, counts=counts, rules=RULES, states=STATES,
                 state=state, rule=rule, licences=_licences(request, view, scope),
                 warn_days=_settings(request).licence_expiry_warn_days, acked_now=acked == "1",
                 can_ack=user.role in ("admin", "officer"), page=page, pages=pages,
                 total=format_count(total, view.lang), first=format_count(first + 1, view.lang),
                 last=format_count(first + len(rows), view.lang), filters={"state": state, "rule": rule})


@router.post("/alerts/{alert_id}/ack")
def acknowledge_alert(request: Request, user: EditorDep, alert_id: AlertId,
                      csrf: Annotated[str, Form(max_length=512)] = "",
                      comment: Annotated[str, Form(max_length=1000)] = "") -> Response:
    """Acknowledge a live alert of the user's reach with a comment (audited); 404 when none is."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    reach = None if user.unit_code is None else {c.code for c in view.choices}
    try:
        with writing(_engine(request)) as session:
            acknowledge(session, alert_id, user.username, comment, utcnow(), units=reach)
    except AlertError:
        raise ConsoleError(404, "not_found_title", view.texts("alert_not_found")) from None
    return _harden(request, RedirectResponse("/alerts?acked=1", status_code=303))
