"""The console's pages: sign-in, overview, devices (and their CSV), units, and the report download.

Every page is rendered on the server with Jinja2 (autoescaped), with bars drawn as inline SVG: no script,
nothing fetched from elsewhere, and a Content-Security-Policy that says so. Each page reads the scope from
``?unit=`` (limited to the signed-in user's subtree, checked on every request) and the cut-off date from
``?as_of=`` (default today in the district's zone).
"""

from __future__ import annotations

import functools
import inspect
import math
import secrets
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import jinja2
import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from server import security
from server.api.deps import SESSION_COOKIE, signed_in_user
from server.api.deps import get_engine as _engine
from server.api.deps import get_settings as _settings
from server.api.downloads import content_disposition
from server.bounds import EARLIEST_DAY
from server.clock import end_of_day, local_date, local_minute, local_today
from server.console import auth
from server.console.audit_log import PAGE as AUDIT_PAGE
from server.console.audit_log import AuditFilter, audit_page
from server.console.auth import ConsoleUser
from server.console.data import (
    PARTS,
    CoverageCache,
    UnitChoice,
    Versions,
    device_lines,
    devices_csv,
    figure_rows,
    forecast_totals,
    issue_counts,
    past_life_by_unit,
    unit_lines,
    version_columns,
    versions_of,
)
from server.console.i18n import LANG_COOKIE, Texts, pick_lang
from server.console.inventory import devices_xlsx, export_name
from server.console.trends import Trend, past_shares, trends
from server.db import one_statement, reading
from server.report import MEDIA_TYPES, render
from server.report.generate import ReportRequest, UnknownUnit, make_report
from server.report.numbers import (
    LANGS,
    Lang,
    format_count,
    format_date,
    format_percent_value,
    format_share,
    percent_decimal,
)
from server.report.writer import UNIT_FIGURES, FigureWriter
from server.services import users
from server.services.addresses import devices_with_address
from server.services.compliance import ISSUE_ORDER
from server.services.device_filter import AGE_BANDS, PAGE_SIZES, DeviceQuery
from server.services.device_index import Selection, index_of, select
from server.services.figure import FIGURE_KEYS, Figure
from server.services.figures import Figures
from server.services.policy import Policy
from server.services.state import DeviceState
from server.vocab import DEVICE_KINDS, STATUSES

HERE = Path(__file__).parent
_CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'")

router = APIRouter(include_in_schema=False)
templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # the templates are part of the package: no stat() of every file on every page
)


# --- plumbing -------------------------------------------------------------------------------------------------


class LoginRequired(Exception):
    """No valid session: go to the sign-in page, then come back."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class ConsoleError(Exception):
    """A page that cannot be shown, with the reason in the user's words."""

    def __init__(self, status: int, title_key: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title_key, self.message = status, title_key, message


def _lang(request: Request) -> Lang:
    return pick_lang(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def _secure_cookie(request: Request) -> bool:
    return request.url.scheme == "https" or _settings(request).environment == "production"


def _harden(request: Request, response: Response) -> Response:
    """Security headers on every console answer; the chosen language kept in its cookie."""
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"  # sign-in links carry a token in the URL
    response.headers["Cache-Control"] = "no-store"
    asked = request.query_params.get("lang")
    if asked in LANGS:
        response.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, httponly=True, samesite="lax",
                            secure=_secure_cookie(request))
    return response


def _html(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = _lang(request)
    context.setdefault("t", Texts(lang))
    context.setdefault("lang", lang)
    context.setdefault("user", None)
    context.setdefault("switch", _switch_links(request))
    context.setdefault("figures_made_at", None)  # set by pages that may show the last figures (``_computed``)
    text = templates.get_template(template).render(**context)
    response = HTMLResponse(text, status_code=status)
    _harden(request, response)
    return response


def _switch_links(request: Request) -> dict[str, str]:
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    return {lang: f"{request.url.path}?{urlencode({**params, 'lang': lang})}" for lang in LANGS}


def _safe_next(value: str | None) -> str:
    """Only a path of this site: never another host (``//evil``, ``/\\evil``, ``/<tab>/evil``, ``https://``)."""
    # Browsers drop tabs and newlines inside URLs and read a backslash as a slash, so refuse them anywhere.
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return "/"
    return value


def _client(request: Request) -> str:
    return auth.client_address(request.client.host if request.client else None,
                               request.headers.get("x-forwarded-for"), _settings(request).trusted_proxies)


def current_user(request: Request) -> ConsoleUser:
    """The signed-in user, or a redirect to the sign-in page.

    The same query reads the data version, the newest kept report and the alerts' version (``Versions``): a
    console page costs one round trip to the database before it reads what it shows, and often none after it.
    """
    engine = _engine(request)
    user, extra = users.session_user(engine, security.signing_key(_settings(request)),
                                     request.cookies.get(SESSION_COOKIE), version_columns(engine.dialect.name))
    if extra is not None:
        request.state.versions = versions_of(extra)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return user


UserDep = Annotated[ConsoleUser, Depends(current_user)]


# --- scope and date -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """What a page is about: who asks, in which language, which unit's subtree, as of which day."""

    user: ConsoleUser
    texts: Texts
    lang: Lang
    as_of: date
    today: date
    unit: str | None  # root of the scope shown; None: everything (admins and unbound users only)
    choices: tuple[UnitChoice, ...]
    scope_name: str
    future_asked: bool = False  # a date after today was asked for: today is shown instead

    @functools.cached_property
    def _kept(self) -> tuple[dict[str, object], str]:
        """The scope and date every link keeps, and their query string (a page has hundreds of links)."""
        query: dict[str, object] = {}
        if self.unit is not None and self.unit != self.user.unit_code:
            query["unit"] = self.unit
        if self.as_of != self.today:
            query["as_of"] = self.as_of.isoformat()
        return query, urlencode(query)

    @functools.cached_property
    def unit_options(self) -> Markup:
        """The scope picker's ``<option>`` list (the whole tree for an admin: rendered once, then kept)."""
        everything = self.texts("scope_all") if self.user.unit_code is None else None
        return _unit_options(self.choices, self.unit, everything)

    def link(self, path: str, **params: object) -> str:
        """A console URL that keeps the scope and date, with ``params`` added (None values left out)."""
        kept, kept_text = self._kept
        added = {k: v for k, v in params.items() if v is not None}
        if not added:
            return f"{path}?{kept_text}" if kept_text else path
        return f"{path}?{urlencode({**kept, **added}, doseq=True)}"


@functools.lru_cache(maxsize=256)
def _unit_options(choices: tuple[UnitChoice, ...], selected: str | None, everything: str | None) -> Markup:
    html = templates.get_template("unit_options.html").render(choices=choices, selected=selected, everything=everything)
    return Markup(html)  # noqa: S704 (an autoescaped template)


def _view(request: Request, user: ConsoleUser, as_of: str | None, unit: str | None) -> View:
    settings = _settings(request)
    lang = _lang(request)
    texts = Texts(lang)
    today = local_today(settings.tz)
    day = today
    future = False
    if as_of:
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            raise ConsoleError(400, "bad_date", texts("bad_date")) from None
        if day < EARLIEST_DAY:  # the calendar's first years overflow once moved to UTC
            raise ConsoleError(422, "bad_date", texts("bad_date"))
        if day > today:  # nothing is known about tomorrow; every agent would look silent
            day, future = today, True
    units = _cache(request).units(_engine(request), _data_version(request))
    choices = _cache(request).choices(_engine(request), _data_version(request), user.unit_code)
    allowed = {c.code for c in choices}
    if unit == "":
        unit = None
    if unit is None:
        unit = user.unit_code
    elif unit not in allowed:
        if user.unit_code is not None or unit in units:
            # Out of reach and unknown read the same to a bound user: the page does not confirm a unit exists.
            raise ConsoleError(403, "forbidden_title", texts("forbidden"))
        raise ConsoleError(404, "not_found_title", texts("unknown_unit", unit=unit, date=format_date(day, lang)))
    name = units[unit][0] if unit is not None and unit in units else texts("scope_all")
    return View(user, texts, lang, day, today, unit, choices, name, future)


def _cache(request: Request) -> CoverageCache:
    cache: CoverageCache = request.app.state.console_cache
    return cache


def _versions(request: Request) -> Versions:
    """The data, kept-report and alert versions, read once per request (with the user, else here)."""
    versions: Versions | None = getattr(request.state, "versions", None)
    if versions is None:
        with one_statement(_engine(request)).connect() as conn:
            values = conn.execute(sa.select(*version_columns(_engine(request).dialect.name))).one()
        versions = request.state.versions = versions_of(values)
    return versions


def _data_version(request: Request) -> tuple[Any, ...]:
    """The data version, read once per request (the units and the figures of a page agree)."""
    return _versions(request).data


def _computed(request: Request, view: View, *, recent_ok: bool = False) -> Figures:
    """The view's figures for the data as they stand. ``recent_ok``: a page that only shows figures (overview,
    list, units) may show the scope's last ones while the newest are slow to compute (a province, with reports
    arriving all the time); the page then says when they were made (``figures_made_at``)."""
    settings = _settings(request)
    cache, policy = _cache(request), Policy.from_settings(settings)
    try:
        if recent_ok:
            figures, made_at = cache.get_or_recent(_engine(request), view.as_of, view.unit, policy, settings.tz,
                                                   _data_version(request))
            if made_at is not None:
                request.state.figures_made_at = made_at
            return figures
        return cache.get(_engine(request), view.as_of, view.unit, policy, settings.tz, _data_version(request))
    except UnknownUnit:
        raise ConsoleError(404, "not_found_title", view.texts(
            "unknown_unit", unit=view.scope_name, date=format_date(view.as_of, view.lang))) from None


def _writer(view: View, computed: Figures, request: Request) -> FigureWriter:
    """The report's wording of the computed figures (made once per computation and language)."""
    years = _settings(request).service_life_years
    return computed.derived(f"writer:{view.lang}:{years}", lambda: FigureWriter(
        computed.coverage, computed.snapshot, view.lang, None, years))


def _page(request: Request, view: View, template: str, **context: Any) -> HTMLResponse:
    lang, texts = view.lang, view.texts

    def share(fig: Figure) -> str:
        return format_share(fig, lang) or texts("no_data")

    def percent(fig: Figure) -> str:
        value = percent_decimal(fig)
        return "—" if value is None else format_percent_value(value, lang)

    made_at = getattr(request.state, "figures_made_at", None)
    context.setdefault("figures_made_at", local_minute(made_at, _settings(request).tz) if made_at else None)
    return _html(request, template, t=texts, lang=lang, user=view.user, view=view, csrf=view.user.csrf,
                 share=share, percent=percent, as_of_text=format_date(view.as_of, lang),
                 count=lambda value: format_count(value, lang), **context)


AsOf = Annotated[str | None, Query(max_length=10)]
UnitQ = Annotated[str | None, Query(max_length=64)]


# --- sign-in --------------------------------------------------------------------------------------------------


def _login_page(request: Request, next_url: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    nonce = secrets.token_urlsafe(18)
    token = security.sign(security.signing_key(_settings(request)), "login", {"n": nonce})
    response = _html(request, "login.html", status=status, csrf=token, next_url=_safe_next(next_url), error=error,
                     no_users=not users.any_user(_engine(request)))
    response.set_cookie(auth.LOGIN_COOKIE, nonce, max_age=3600, httponly=True, samesite="lax",
                        secure=_secure_cookie(request), path="/login")
    return response


@router.get("/login")
def login_form(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    """The sign-in form (straight on to ``next`` when already signed in)."""
    if signed_in_user(request):
        return _harden(request, RedirectResponse(_safe_next(next), status_code=303))
    return _login_page(request, next or "/")


def _signed_in(request: Request, user: Any, target: str) -> Response:
    response = RedirectResponse(_safe_next(target), status_code=303)
    response.set_cookie(SESSION_COOKIE, users.session_token(security.signing_key(_settings(request)), user),
                        max_age=users.SESSION_SECONDS, httponly=True, samesite="lax", secure=_secure_cookie(request))
    response.delete_cookie(auth.LOGIN_COOKIE, path="/login")
    return _harden(request, response)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=512)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials; a session cookie on success, the form again with the reason otherwise."""
    settings, engine = _settings(request), _engine(request)
    texts = Texts(_lang(request))
    payload = security.unsign(security.signing_key(settings), "login", csrf, 3600)
    nonce = request.cookies.get(auth.LOGIN_COOKIE, "")
    if payload is None or not nonce or not security.same_token(nonce, str(payload.get("n", ""))):
        return _login_page(request, next, texts("login_form_expired"), status=400)
    throttle = auth.LoginThrottle(trusted=settings.trusted_proxies)
    address = _client(request)
    if throttle.blocked(engine, address, username):
        auth.record(engine, username, "console.login_refused", address=address, reason="throttled")
        return _login_page(request, next, texts("login_throttled"), status=429)
    user = auth.check_login(engine, username, password)
    if user is None:
        throttle.failed(engine, address, username)
        auth.record(engine, username, "console.login_failed", address=address)
        return _login_page(request, next, texts("login_failed"), status=401)
    throttle.succeeded(engine, address, username)
    auth.record(engine, user.username, "console.login", address=address)
    return _signed_in(request, user, next)


@router.get(auth.LINK_PATH)
def login_link(request: Request, token: Annotated[str, Query(max_length=1024)] = "") -> Response:
    """The demo's one-time link: signs its admin in, from this machine only, never in production."""
    settings, engine = _settings(request), _engine(request)
    user = None
    if settings.environment != "production" and auth.is_loopback(_client(request)):
        user = auth.use_link(engine, security.signing_key(settings), token)
    if user is None:
        return _login_page(request, "/", Texts(_lang(request))("link_invalid"), status=400)
    return _signed_in(request, user, "/")


@router.post("/logout")
def logout(request: Request, user: UserDep, csrf: Annotated[str, Form(max_length=512)] = "") -> Response:
    """End the session (the form carries the session's CSRF token)."""
    if not security.same_token(csrf, user.csrf):
        raise ConsoleError(403, "forbidden_title", Texts(_lang(request))("login_form_expired"))
    auth.record(_engine(request), user.username, "console.logout", address=_client(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return _harden(request, response)


# --- pages ----------------------------------------------------------------------------------------------------


@router.get("/")
def overview(request: Request, user: UserDep, as_of: AsOf = None, unit: UnitQ = None) -> Response:
    """The figures of the scope as of the date, in three parts, each linking to its list."""
    from server.console.alert_views import open_alerts

    view = _view(request, user, as_of, unit)
    computed = _computed(request, view, recent_ok=True)
    cov = computed.coverage
    cards = {
        "computers": format_count(cov.figures["computers_with_agent"].denominator, view.lang),
        "devices": format_count(cov.figures["past_service_life"].denominator, view.lang),
        "reporting": cov.figures["computers_with_agent"],
        "violations": cov.figures["air_gap_violations"],
        "past_life": cov.figures["past_service_life"],
        "detections": cov.figures["detections_unremediated"],
        "detections_readable": cov.figures["computers_with_detections"],
    }
    corrected = cov.corrected_after or computed.snapshot.corrected_after
    # The figures, lists and charts read nothing of the moment beyond what keys them: made once, then kept.
    kept_version = _versions(request).kept
    body = computed.derived(f"overview:{view.lang}:{view.link('')}:{view.today}:{kept_version}",
                            lambda: _overview_body(request, view, computed))
    return _page(request, view, "overview.html", cards=cards, alerts=open_alerts(request, view), body=body,
                 corrected=format_date(local_date(corrected, _settings(request).tz), view.lang) if corrected else None)


def _overview_body(request: Request, view: View, computed: Figures) -> Markup:
    """The overview's figure tables, to-do list, charts and kept reports, as HTML (``overview_body.html``)."""
    from server.console.kept_views import kept_list

    writer = _writer(view, computed, request)
    cov = computed.coverage
    parts = [(view.texts(title), figure_rows(writer, keys, view.texts("no_data"))) for title, keys in PARTS]
    forecast = forecast_totals(cov)
    past = past_life_by_unit(writer, view.unit)
    # The replacement chart starts with what is already overdue (in use past its service life).
    overdue = cov.figures["past_service_life"].numerator
    lines = figure_trends(_engine(request), view, {k: f.percent for k, f in cov.figures.items()})
    todo = computed.derived("issue_counts", lambda: issue_counts(computed.snapshot, cov))
    return Markup(templates.get_template("overview_body.html").render(  # noqa: S704 (an autoescaped template)
        t=view.texts, view=view, count=lambda value: format_count(value, view.lang), parts=parts,
        cards={"reporting": cov.figures["computers_with_agent"]}, todo=todo, forecast=forecast, overdue=overdue,
        trends=lines, kept=kept_list(_engine(request), view.unit), day=lambda value: format_date(value, view.lang),
        forecast_max=max((n for _, n in [*forecast, (0, overdue)]), default=0),
        past=past, past_max=max((r[2] for r in past), default=0)))


def figure_trends(engine: Engine, view: View, current: dict[str, float | None]) -> dict[str, Trend]:
    """Each figure's line over the kept past periods of the scope, to the value as of the date shown."""
    def label(day: date, value: float | None) -> str:
        shown = "—" if value is None else format_percent_value(Decimal(str(value)), view.lang)
        return f"{format_date(day, view.lang)}: {shown}"

    return trends(past_shares(engine, view.unit, view.as_of), current, label)


def _selected(request: Request, view: View, computed: Figures, figure: str | None, issue: list[str],
              q: str | None) -> tuple[str | None, DeviceQuery, Selection]:
    """The scope's devices narrowed by the list's filters (figure, search, then the combinable ones).

    The same devices in the same order as ``device_filter.narrow(device_filter.select_devices(...))``, from
    the index kept with the computation; the search also finds devices by an IP or MAC address.
    """
    if figure is not None and (figure not in FIGURE_KEYS or figure not in computed.coverage.figures):
        figure = None
    query = DeviceQuery.parse(request.query_params, issue)
    addressed: set[int] = set()
    if q:
        with reading(_engine(request)) as session:
            addressed = devices_with_address(session, q, end_of_day(view.as_of, _settings(request).tz))
    selection = select(index_of(computed), query, figure=figure, search=q or None, unit_names=_unit_names(computed),
                       unit=view.unit, as_of=view.as_of, tz=_settings(request).tz, addressed=addressed)
    return figure, query, selection


def _unit_names(computed: Figures) -> dict[str, str]:
    return computed.derived("unit_names", lambda: {u.code: u.name for u in computed.snapshot.units})


Issues = Annotated[list[str], Query(max_length=64)]
Search = Annotated[str | None, Query(max_length=200)]
FigureQ = Annotated[str | None, Query(max_length=64)]


@router.get("/devices")
def devices(request: Request, user: UserDep, as_of: AsOf = None, unit: UnitQ = None, figure: FigureQ = None,
            issue: Issues = [], q: Search = None,  # noqa: B006 (FastAPI copies list defaults)
            page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """Devices of the scope, most serious problems first, narrowed by filters that combine, sortable, paged.

    Besides ``figure``, ``issue`` (repeatable) and ``q``: ``kind``, ``status``, ``os``, ``av``, ``age``,
    ``unseen`` (days), ``air_gapped`` (yes/no), ``subunits=0``, ``sort`` + ``dir``, ``size`` (see inventory.py).
    """
    view = _view(request, user, as_of, unit)
    computed = _computed(request, view, recent_ok=True)
    if figure in UNIT_FIGURES:
        return _harden(request, RedirectResponse(view.link("/units", figure=figure), status_code=303))
    figure, query, narrowed = _selected(request, view, computed, figure, issue, q)
    total = narrowed.count
    pages = max(1, math.ceil(total / query.size))
    page = min(page, pages)
    shown = narrowed.page((page - 1) * query.size, page * query.size)
    rows = device_rows(request, view, computed, shown)
    filters: dict[str, Any] = {"figure": figure, "issue": list(query.issues) or None, "q": q or None,
                               **query.params()}
    unsorted = {k: v for k, v in filters.items() if k not in ("sort", "dir")}
    return _page(request, view, "devices.html", rows=rows, total=format_count(total, view.lang),
                 figure=figure, query=query, q=q or "", page=page, pages=pages, issues=ISSUE_ORDER,
                 filters=filters, unsorted=unsorted, kinds=DEVICE_KINDS, statuses=STATUSES, age_bands=AGE_BANDS,
                 sizes=PAGE_SIZES, os_names=narrowed.os_names, av_names=narrowed.av_names)


#: Rows of the device list kept per computation, language and links; past this many the oldest are dropped.
ROWS_KEPT = 20_000


def device_rows(request: Request, view: View, computed: Figures, shown: Sequence[DeviceState]) -> list[Markup]:
    """The list's rows as HTML (``device_row.html``). A device's row depends only on the computation, the
    language and the links' scope and date, so each is rendered once and kept with the computation: paging,
    sorting and filtering again show rows already made."""
    kept: OrderedDict[int, Markup] = computed.derived(f"device-rows:{view.lang}:{view.link('')}", OrderedDict)
    with _rows_lock:
        rows = {d.id: kept[d.id] for d in shown if d.id in kept}
    missing = [d for d in shown if d.id not in rows]
    if missing:
        module = templates.get_template("device_row.html").make_module(
            {"kept": view.link(""), "past_life_yes": view.texts("past_life_yes")})
        row = module.row  # type: ignore[attr-defined]  # the template's macro
        links = {code: view.link("/devices", unit=code) for code in {d.unit_code for d in missing}}
        made = {line.id: row(line, links[line.unit_code])
                for line in device_lines(missing, _writer(view, computed, request), view.texts, _settings(request).tz)}
        rows.update(made)
        with _rows_lock:
            kept.update(made)
            while len(kept) > ROWS_KEPT:
                kept.popitem(last=False)
    return [rows[d.id] for d in shown]


_rows_lock = threading.Lock()


def _export(request: Request, user: ConsoleUser, view: View, extension: str, rows: int, body: bytes,
            media_type: str) -> Response:
    """An export as a download, audited with who, what scope and date, which filters and how many rows."""
    filters = {k: v for k, v in request.query_params.multi_items() if k not in ("lang",)}
    auth.record(_engine(request), user.username, "console.export", format=extension, unit=view.unit,
                as_of=view.as_of.isoformat(), rows=rows, filters=filters)
    name = export_name(extension, view.as_of, view.unit)
    response = Response(body, media_type=media_type, headers={"Content-Disposition": content_disposition(name)})
    return _harden(request, response)


@router.get("/devices.csv")
def devices_export(request: Request, user: UserDep, as_of: AsOf = None, unit: UnitQ = None, figure: FigureQ = None,
                   issue: Issues = [], q: Search = None) -> Response:  # noqa: B006
    """The same list as CSV with stable English column names (for scripts), every page at once."""
    view = _view(request, user, as_of, unit)
    computed = _computed(request, view)
    _, _, narrowed = _selected(request, view, computed, figure, issue, q)
    body = devices_csv(narrowed, computed.coverage, _unit_names(computed))
    return _export(request, user, view, "csv", narrowed.count, body.encode(), "text/csv; charset=utf-8")


@router.get("/devices.xlsx")
def devices_workbook(request: Request, user: UserDep, as_of: AsOf = None, unit: UnitQ = None,
                     figure: FigureQ = None, issue: Issues = [], q: Search = None) -> Response:  # noqa: B006
    """The same list as an Excel workbook with the leader's columns, headers in the console's language."""
    view = _view(request, user, as_of, unit)
    computed = _computed(request, view)
    _, _, narrowed = _selected(request, view, computed, figure, issue, q)
    body = devices_xlsx(narrowed, computed.coverage, _unit_names(computed), view.texts, view.lang,
                        _settings(request).tz)
    return _export(request, user, view, "xlsx", narrowed.count, body, XLSX_MEDIA_TYPE)


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/units")
def units(
    request: Request,
    user: UserDep,
    as_of: AsOf = None,
    unit: UnitQ = None,
    figure: Annotated[str | None, Query(max_length=64)] = None,
    saved: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The scope's units as a tree: facts entered by hand, devices, and a few of their figures."""
    view = _view(request, user, as_of, unit)
    computed = _computed(request, view, recent_ok=saved is None)  # after an edit: the edit shown
    if figure is not None and figure not in computed.coverage.figures:
        figure = None
    writer = _writer(view, computed, request)
    lines = unit_lines(writer, figure)
    if figure is not None:
        lines = [line for line in lines if line.in_figure is not None]
    return _page(request, view, "units.html", lines=lines, figure=figure, saved=saved,
                 can_edit=user.role in ("admin", "officer"))


@router.get("/report")
def report(
    request: Request,
    user: UserDep,
    as_of: AsOf = None,
    unit: UnitQ = None,
    format: Literal["docx", "md"] = "docx",
) -> Response:
    """The report section of the scope as of the date, generated by the report code, as a download."""
    from server.db import reading

    view = _view(request, user, as_of, unit)
    settings, engine = _settings(request), _engine(request)
    wanted = ReportRequest(as_of=view.as_of, unit_code=view.unit, lang=view.lang)
    try:
        with reading(engine) as session:
            document = make_report(session, wanted, Policy.from_settings(settings), settings.tz)
    except UnknownUnit:
        raise ConsoleError(404, "not_found_title", view.texts(
            "unknown_unit", unit=view.scope_name, date=format_date(view.as_of, view.lang))) from None
    auth.record(engine, user.username, "console.report", as_of=view.as_of.isoformat(), unit=view.unit,
                format=format, lang=view.lang)
    name = f"bao-cao-{view.as_of.isoformat()}-{view.unit or 'toan-huyen'}.{format}"
    response = Response(render(document, format), media_type=MEDIA_TYPES[format],
                        headers={"Content-Disposition": content_disposition(name)})
    return _harden(request, response)


@router.get("/audit")
def audit_log(
    request: Request,
    user: UserDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=128)] = None,
    unit: UnitQ = None,
    since: Annotated[date | None, Query()] = None,
    until: Annotated[date | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The audit log in words, newest first, filtered by actor, action, unit and local dates: admins only."""
    view = _view(request, user, None, None)
    if not user.is_admin:
        raise ConsoleError(403, "forbidden_title", view.texts("admin_only"))
    wanted = AuditFilter(actor=actor or None, action=action or None, unit=unit or None, since=since, until=until)
    lines, total, actors, actions = audit_page(_engine(request), _settings(request).tz, view.lang, wanted, page)
    pages = max(1, math.ceil(total / AUDIT_PAGE))
    filters = {"action": wanted.action, "actor": wanted.actor, "unit": wanted.unit,
               "since": since.isoformat() if since else None, "until": until.isoformat() if until else None}
    return _page(request, view, "audit.html", entries=lines, wanted=wanted, actors=actors, actions=actions,
                 total=format_count(total, view.lang), page=min(page, pages), pages=pages, filters=filters)


# --- the report API's reader ---------------------------------------------------------------------------------


# --- wiring ---------------------------------------------------------------------------------------------------


async def _to_login(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return _harden(request, RedirectResponse(f"/login?{urlencode({'next': exc.next_url})}", status_code=303))


async def _error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleError)
    texts = Texts(_lang(request))
    return _html(request, "error.html", status=exc.status, title=texts(exc.title_key), message=exc.message)


async def _answer(result: Response | Awaitable[Response]) -> Response:
    return await result if inspect.isawaitable(result) else result


def _is_console(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def install_console(app: FastAPI) -> None:
    """Add the console's pages, static files and error pages to the app.

    Call it after the API's own exception handlers are installed: a bad parameter or an unknown path of the
    console then gets the console's page in the user's language, while ``/api/`` keeps the API's JSON answers.
    """
    from server.console import (
        alert_views,
        api_token_views,
        detection_views,
        device_views,
        enrolment_views,
        import_views,
        kept_views,
        licence_views,
        unit_views,
        user_views,
    )

    app.state.console_cache = CoverageCache(slow_seconds=app.state.settings.recent_figures_after)
    app.include_router(device_views.router)
    app.include_router(unit_views.router)
    app.include_router(user_views.router)
    app.include_router(enrolment_views.router)
    app.include_router(alert_views.router)
    app.include_router(api_token_views.router)
    app.include_router(import_views.router)
    app.include_router(licence_views.router)
    app.include_router(kept_views.router)
    app.include_router(detection_views.router)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.add_exception_handler(LoginRequired, _to_login)
    app.add_exception_handler(ConsoleError, _error_page)
    api_http = app.exception_handlers.get(StarletteHTTPException)
    api_invalid = app.exception_handlers.get(RequestValidationError)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not _is_console(request) and api_http is not None:
            return await _answer(api_http(request, exc))
        texts = Texts(_lang(request))
        title, message = _HTTP_PAGES.get(exc.status_code, ("error_title", "error_message"))
        return _html(request, "error.html", status=exc.status_code, title=texts(title), message=texts(message))

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not _is_console(request) and api_invalid is not None:
            return await _answer(api_invalid(request, exc))
        texts = Texts(_lang(request))
        fields = ", ".join(sorted({str(e["loc"][-1]) for e in exc.errors()}))
        return _html(request, "error.html", status=400, title=texts("bad_request_title"),
                     message=texts("bad_parameter", fields=fields))

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)


#: Title and message keys of the console's page for an HTTP error status.
_HTTP_PAGES = {404: ("not_found_title", "not_found"), 405: ("bad_request_title", "method_not_allowed")}
