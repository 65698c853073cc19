"""Who may call each route: every route of the app has a rule below, and each rule is called for real.

``ACCESS`` lists, for every (method, path) the app serves, the request to make and the answer each caller
must get: nobody, the agent's key (X1), a viewer and an officer bound to X1 (the scope asked for), an officer
bound to X2 (out of that scope), the administrator. A route added without a rule fails
``test_every_route_has_a_rule`` with its name.

Answers: a status (``"2xx"`` any success), ``"login"`` for the console's redirect to its sign-in page, and
``"303"`` for any other redirect (a form saved). The console's forms are posted with the caller's own session
and its CSRF token, so a refusal is the server's rule, not a missing token; a refused form leaves no audit
entry of a change by that caller.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import func, select

from server.api.deps import SESSION_COOKIE
from server.clock import utcnow
from server.config import Settings
from server.console.auth import LOGIN_COOKIE
from server.db import make_engine, reading, upgrade, writing
from server.main import create_app
from server.models import AuditLog
from server.services.api_tokens import create_api_token
from server.services.assets import AssetForm
from server.services.enrolment import create_token
from server.services.licence_edits import add_licence
from server.services.users import create_user
from tests.server.conftest import new_postgres_database
from tests.server.factories import make_report
from tests.server.world import KEPT_AS_OF, PASSWORD, USERS, World, seed, session_cookie

CALLERS = ("anonymous", "agent", "viewer", "officer", "outsider", "admin")
METRICS_TOKEN = "proof-metrics-token-0123456789abcdef"


@dataclass
class Caller:
    """Who calls: their credentials as headers; ``name`` is a key of ``CALLERS``."""

    name: str
    headers: dict[str, str]


@dataclass
class Env:
    """The app in-process on a seeded database, and what the requests need."""

    client: TestClient
    world: World
    settings: Settings


Call = Callable[[Env, Caller], httpx.Response]


def _get(path: str) -> Call:
    """GET ``path`` (``{kept}``: the kept report's id, ``{device}``: X1's printer) with the caller's credentials."""
    return lambda env, who: env.client.get(path.format(kept=env.world.kept_id, device=env.world.device_id),
                                           headers=who.headers)


CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def _csrf_in(page: httpx.Response) -> str | None:
    """The CSRF token of the form on ``page``, if it has one."""
    found = CSRF_FIELD.search(page.text)
    return found.group(1) if found else None


def _csrf(env: Env, who: Caller) -> str:
    """The caller's CSRF token from a page they may read (none for nobody and agents)."""
    return _csrf_in(env.client.get("/", headers=who.headers)) or "none"


def _form(path: str, **values: str) -> Call:
    """POST a console form to ``path`` with the caller's session and its CSRF token.

    ``{device}`` is X1's printer, ``{who}`` the caller's name, ``{uid}`` a fresh id (names that must be new).
    """

    def call(env: Env, who: Caller) -> httpx.Response:
        fill = {"device": env.world.device_id, "who": who.name, "uid": uuid.uuid4().hex[:8]}
        data = {name: value.format(**fill) for name, value in values.items()}
        return env.client.post(path.format(**fill), headers=who.headers, data={**data, "csrf": _csrf(env, who)})

    return call


def _change_user(env: Env, who: Caller) -> httpx.Response:
    """Disable a user made for the purpose (never one of the callers)."""
    target = f"spare-{who.name}-{uuid.uuid4().hex[:8]}"
    create_user(env.client.app.state.engine, target, PASSWORD, "viewer", "X1", actor="test")  # type: ignore[attr-defined]
    return env.client.post(f"/users/{target}/disable", headers=who.headers, data={"csrf": _csrf(env, who)})


def _enroll(env: Env, who: Caller) -> httpx.Response:
    engine = env.client.app.state.engine  # type: ignore[attr-defined]
    with writing(engine) as session:
        token, _ = create_token(session, "X1", days=1, actor="test")
    return env.client.post("/api/v1/enroll", headers=who.headers,
                           json={"token": token, "machine_id": f"new-{uuid.uuid4()}"})


def _report(env: Env, who: Caller) -> httpx.Response:
    body = make_report(env.world.machine_id, serial="SN-PROOF").model_dump_json()
    return env.client.post("/api/v1/reports", headers={**who.headers, "Content-Type": "application/json"},
                           content=body)


def _login(env: Env, who: Caller) -> httpx.Response:
    form = env.client.get("/login")  # as nobody, to get a form and the cookie its CSRF token is bound to
    csrf = _csrf_in(form)
    assert csrf
    cookies = "; ".join(c for c in (who.headers.get("Cookie"), f"{LOGIN_COOKIE}={form.cookies[LOGIN_COOKIE]}") if c)
    env.client.cookies.clear()
    return env.client.post("/login", headers={**who.headers, "Cookie": cookies}, data={
        "username": f"nobody-{who.name}", "password": "not the password", "csrf": csrf, "next": "/"})


def _logout(env: Env, who: Caller) -> httpx.Response:
    return env.client.post("/logout", headers=who.headers, data={"csrf": _csrf(env, who)})


def _new_token(env: Env, who: Caller) -> httpx.Response:
    return env.client.post("/tokens", headers=who.headers, data={"csrf": _csrf(env, who), "unit": "X1", "days": "1"})


def _revoke_token(env: Env, who: Caller) -> httpx.Response:
    engine = env.client.app.state.engine  # type: ignore[attr-defined]
    with writing(engine) as session:
        _, token = create_token(session, "X1", days=1, actor="test")
    return env.client.post(f"/tokens/{token.id}/revoke", headers=who.headers, data={"csrf": _csrf(env, who)})


def _revoke_agent(env: Env, who: Caller) -> httpx.Response:
    engine = env.client.app.state.engine  # type: ignore[attr-defined]
    with writing(engine) as session:
        token, _ = create_token(session, "X1", days=1, actor="test")
    enrolled = env.client.post("/api/v1/enroll", json={"token": token, "machine_id": f"revoked-{uuid.uuid4()}"})
    agent_id = enrolled.json()["agent_id"]
    return env.client.post(f"/agents/{agent_id}/revoke", headers=who.headers, data={"csrf": _csrf(env, who)})


def _ack_alert(env: Env, who: Caller) -> httpx.Response:
    """Acknowledge an alert of X1 opened for the purpose."""
    from server.alerts.rules import Condition
    from server.alerts.store import reconcile
    from server.clock import utcnow

    engine = env.client.app.state.engine  # type: ignore[attr-defined]
    condition = Condition("not_seen", env.world.device_id, "X1", f"{who.name}-{uuid.uuid4().hex[:8]}")
    with writing(engine) as session:
        [alert_id] = reconcile(session, [condition], rules={"not_seen"}, devices=[-1], now=utcnow()).opened
    return env.client.post(f"/alerts/{alert_id}/ack", headers=who.headers,
                           data={"csrf": _csrf(env, who), "comment": "checked"})
def _api(path: str) -> Call:
    """GET a read-API ``path`` with a personal API token of the caller (a user), or their own credentials."""

    def call(env: Env, who: Caller) -> httpx.Response:
        headers = who.headers
        if who.name in USERS:
            engine = env.client.app.state.engine  # type: ignore[attr-defined]
            with writing(engine) as session:
                secret, _ = create_api_token(session, who.name, "access rules", days=1, actor="test", now=utcnow())
            headers = {"Authorization": f"Bearer {secret}"}
        return env.client.get(path.format(device=env.world.device_id), headers=headers)

    return call


def _revoke_api_token(env: Env, who: Caller) -> httpx.Response:
    """Revoke a token of the X1 viewer: theirs to revoke, and an admin's; anyone else's reads as unknown."""
    engine = env.client.app.state.engine  # type: ignore[attr-defined]
    with writing(engine) as session:
        _, token = create_api_token(session, "viewer", "to revoke", days=1, actor="test", now=utcnow())
    return env.client.post(f"/account/api-tokens/{token.id}/revoke", headers=who.headers,
                           data={"csrf": _csrf(env, who)})


def _import_preview(env: Env, who: Caller) -> httpx.Response:
    """Preview a one-row assets sheet of X1 (nothing is written)."""
    sheet = f"unit,kind,name\nX1,scanner,Máy quét {who.name} {uuid.uuid4().hex[:8]}\n".encode()
    return env.client.post("/import/preview", headers=who.headers, data={"csrf": _csrf(env, who), "kind": "assets"},
                           files={"file": ("assets.csv", sheet)})


def _import_commit(env: Env, who: Caller) -> httpx.Response:
    """Commit the caller's own previewed sheet (the preview's token), as the page's button does."""
    preview = _import_preview(env, who)
    env.client.cookies.clear()
    upload = re.search(r'name="upload" value="([^"]+)"', preview.text)
    return env.client.post("/import/commit", headers=who.headers, data={
        "csrf": _csrf(env, who), "kind": "assets", "upload": upload.group(1) if upload else "none"})


def _licence(env: Env, who: Caller, action: str) -> httpx.Response:
    """Open, correct or retire a licence made for the purpose (the admin's own pages)."""
    engine = env.client.app.state.engine  # type: ignore[attr-defined]
    licence_id = add_licence(engine, AssetForm({"product": f"AV {who.name} {uuid.uuid4().hex[:8]}", "seats": "3"}),
                             actor="test")
    if action == "edit-form":
        return env.client.get(f"/licences/{licence_id}/edit", headers=who.headers)
    data = {"csrf": _csrf(env, who), "product": "AV sửa", "seats": "4"} if action == "edit" else {
        "csrf": _csrf(env, who)}
    return env.client.post(f"/licences/{licence_id}/{action}", headers=who.headers, data=data)


def _expect(anonymous: str, agent: str, viewer: str, officer: str, outsider: str, admin: str) -> dict[str, str]:
    return dict(zip(CALLERS, (anonymous, agent, viewer, officer, outsider, admin), strict=True))


EVERYONE = _expect(*["2xx"] * 6)
SIGNED_IN_ONLY = _expect("login", "login", "2xx", "2xx", "2xx", "2xx")
X1_READERS = _expect("login", "login", "2xx", "2xx", "403", "2xx")
#: Enrolment tokens and agents of X1: its officers and admins; viewers never; another unit's officer 403.
X1_ENROLLERS = _expect("login", "login", "403", "2xx", "403", "2xx")
X1_READERS_API = _expect("401", "401", "2xx", "2xx", "403", "2xx")
ADMIN_ONLY = _expect("login", "login", "403", "403", "403", "2xx")
#: A device or unit of X1: read by its readers; out of reach it reads as unknown (404).
X1_RECORD = _expect("login", "login", "2xx", "2xx", "404", "2xx")
#: Changing X1's records: officers of X1 and admins; viewers never (403); out of reach reads as unknown.
X1_EDITORS = _expect("login", "login", "403", "2xx", "404", "2xx")
X1_EDITORS_SAVE = _expect("login", "login", "403", "303", "404", "303")

#: (method, path as the app declares it) -> (the request, the answer each caller gets).
ACCESS: dict[tuple[str, str], tuple[Call, dict[str, str]]] = {
    ("GET", "/openapi.json"): (_get("/openapi.json"), EVERYONE),
    ("GET", "/docs"): (_get("/docs"), EVERYONE),
    ("GET", "/docs/oauth2-redirect"): (_get("/docs/oauth2-redirect"), EVERYONE),
    ("GET", "/redoc"): (_get("/redoc"), EVERYONE),
    ("GET", "/static/{path}"): (_get("/static/console.css"), EVERYONE),
    ("GET", "/api/v1/health"): (_get("/api/v1/health"), EVERYONE),
    # Prometheus scrapes with its own token (KIEMKE_METRICS_TOKEN), never a user's or an agent's credentials.
    ("GET", "/metrics"): (_get("/metrics"), _expect(*["401"] * 6)),
    # The enrolment token is the credential: whoever holds a valid one enrols, whatever else they send.
    ("POST", "/api/v1/enroll"): (_enroll, EVERYONE),
    ("POST", "/api/v1/reports"): (_report, _expect("401", "2xx", "401", "401", "401", "401")),
    ("POST", "/api/v1/heartbeat"): (lambda env, who: env.client.post("/api/v1/heartbeat", headers=who.headers),
                                    _expect("401", "2xx", "401", "401", "401", "401")),
    ("GET", "/api/v1/report"): (_get(f"/api/v1/report?unit=X1&as_of={KEPT_AS_OF}&format=json"), X1_READERS_API),
    ("GET", "/api/v1/report/kept"): (_get("/api/v1/report/kept?unit=X1"), X1_READERS_API),
    # A kept report's unit is known only once it is read: users bound to a unit never read one by id.
    ("GET", "/api/v1/report/kept/{report_id}"): (_get("/api/v1/report/kept/{kept}?format=json"),
                                                 _expect("401", "401", "403", "403", "403", "2xx")),
    ("GET", "/login"): (_get("/login"), _expect("2xx", "2xx", "303", "303", "303", "303")),
    ("POST", "/login"): (_login, _expect("401", "401", "401", "401", "401", "401")),  # a wrong password
    ("GET", "/login/link"): (_get("/login/link?token=forged.token"), _expect(*["400"] * 6)),
    ("POST", "/logout"): (_logout, _expect(*["login"] * 6)),
    ("GET", "/"): (_get(f"/?unit=X1&as_of={KEPT_AS_OF}"), X1_READERS),
    ("GET", "/devices"): (_get(f"/devices?unit=X1&as_of={KEPT_AS_OF}"), X1_READERS),
    ("GET", "/devices.csv"): (_get(f"/devices.csv?unit=X1&as_of={KEPT_AS_OF}"), X1_READERS),
    ("GET", "/devices.xlsx"): (_get(f"/devices.xlsx?unit=X1&as_of={KEPT_AS_OF}"), X1_READERS),
    ("GET", "/detections"): (_get(f"/detections?unit=X1&as_of={KEPT_AS_OF}&status=unremediated"), X1_READERS),
    ("GET", "/detections.csv"): (_get(f"/detections.csv?unit=X1&as_of={KEPT_AS_OF}"), X1_READERS),
    ("GET", "/detections.xlsx"): (_get(f"/detections.xlsx?unit=X1&as_of={KEPT_AS_OF}"), X1_READERS),
    ("GET", "/devices/{device_id}"): (_get("/devices/{device}"), X1_RECORD),
    ("GET", "/devices/{device_id}/edit"): (_get("/devices/{device}/edit"), X1_EDITORS),
    ("POST", "/devices/{device_id}/edit"): (
        _form("/devices/{device}/edit", name="Máy in (sửa: {who})", unit="X1", kind="printer", status="in_use"),
        X1_EDITORS_SAVE),
    # Adding to X1: the outsider's page for X1 is refused, and so is X1 as the unit of their form (400).
    ("GET", "/devices/new"): (_get("/devices/new?unit=X1"), _expect("login", "login", "403", "2xx", "403", "2xx")),
    ("POST", "/devices/new"): (
        _form("/devices/new", name="Máy quét {who} {uid}", unit="X1", kind="scanner", status="in_use"),
        _expect("login", "login", "403", "303", "400", "303")),
    ("GET", "/units"): (_get(f"/units?unit=X1&as_of={KEPT_AS_OF}"), X1_READERS),
    ("GET", "/units/{code}/edit"): (_get("/units/X1/edit"), X1_EDITORS),
    ("POST", "/units/{code}/edit"): (
        _form("/units/X1/edit", name="Xã Một", kind="commune", parent="UBND", staff="12", lan="yes"),
        X1_EDITORS_SAVE),
    ("GET", "/report"): (_get(f"/report?unit=X1&as_of={KEPT_AS_OF}&format=md"), X1_READERS),
    ("GET", "/audit"): (_get("/audit"), ADMIN_ONLY),
    ("GET", "/users"): (_get("/users"), ADMIN_ONLY),
    ("POST", "/users"): (_form("/users", username="new-{who}-{uid}", role="viewer", unit="X1"),
                         _expect("login", "login", "403", "403", "403", "303")),
    ("POST", "/users/{username}/{action}"): (_change_user, _expect("login", "login", "403", "403", "403", "303")),
    ("GET", "/account"): (_get("/account"), SIGNED_IN_ONLY),
    # Everyone signed in sets their own password (here to the same one, so the other rules still sign in).
    ("POST", "/account/password"): (
        _form("/account/password", current=PASSWORD, new=PASSWORD, again=PASSWORD),
        _expect("login", "login", "303", "303", "303", "303")),
    # Enrolment tokens and agents: officers within their unit's subtree and admins; an out-of-scope unit's
    # token or agent reads as not found.
    ("GET", "/tokens"): (_get("/tokens?unit=X1"), X1_ENROLLERS),
    ("POST", "/tokens"): (_new_token, _expect("login", "login", "403", "303", "400", "303")),
    ("POST", "/tokens/{token_id}/revoke"): (_revoke_token, _expect("login", "login", "403", "303", "404", "303")),
    ("GET", "/agents"): (_get("/agents?unit=X1"), X1_ENROLLERS),
    # The read API: a personal API token of the caller; X1 and its records for its readers only.
    ("GET", "/api/v1/devices"): (_api("/api/v1/devices?unit=X1"), X1_READERS_API),
    ("GET", "/api/v1/devices/{device_id}"): (_api("/api/v1/devices/{device}"),
                                             _expect("401", "401", "2xx", "2xx", "404", "2xx")),
    ("GET", "/api/v1/units"): (_api("/api/v1/units?unit=X1"), X1_READERS_API),
    ("GET", "/api/v1/figures"): (_api("/api/v1/figures?unit=X1"), X1_READERS_API),
    # Import from the page: officers (assets of their own units: X1's row is refused to the outsider, who gets
    # the preview saying so, and nothing to commit: 409) and admins; viewers never.
    ("GET", "/import"): (_get("/import"), _expect("login", "login", "403", "2xx", "2xx", "2xx")),
    ("GET", "/import/template/{kind}"): (_get("/import/template/assets?format=csv"),
                                         _expect("login", "login", "403", "2xx", "2xx", "2xx")),
    ("POST", "/import/preview"): (_import_preview, _expect("login", "login", "403", "2xx", "2xx", "2xx")),
    ("POST", "/import/commit"): (_import_commit, _expect("login", "login", "403", "2xx", "409", "2xx")),
    # The kept report of X1: its readers; out of reach it reads as unknown.
    ("GET", "/reports/kept/{report_id}"): (_get("/reports/kept/{kept}?format=md"), X1_RECORD),
    # Antivirus licences: the administrator's (allotted district-wide).
    ("GET", "/licences"): (_get("/licences"), ADMIN_ONLY),
    ("GET", "/licences/new"): (_get("/licences/new"), ADMIN_ONLY),
    ("POST", "/licences/new"): (_form("/licences/new", product="AV {who} {uid}", seats="3"),
                                _expect("login", "login", "403", "403", "403", "303")),
    ("GET", "/licences/{licence_id}/edit"): (lambda env, who: _licence(env, who, "edit-form"), ADMIN_ONLY),
    ("POST", "/licences/{licence_id}/edit"): (lambda env, who: _licence(env, who, "edit"),
                                              _expect("login", "login", "403", "403", "403", "303")),
    ("POST", "/licences/{licence_id}/retire"): (lambda env, who: _licence(env, who, "retire"),
                                                _expect("login", "login", "403", "403", "403", "303")),
    # Personal API tokens: everyone signed in makes their own; a token is revoked by its owner or an admin.
    ("GET", "/account/api-tokens"): (_get("/account/api-tokens"), SIGNED_IN_ONLY),
    ("POST", "/account/api-tokens"): (_form("/account/api-tokens", name="script of {who}", days="7"),
                                      _expect("login", "login", "303", "303", "303", "303")),
    ("POST", "/account/api-tokens/{token_id}/revoke"): (
        _revoke_api_token, _expect("login", "login", "303", "404", "404", "303")),
    ("POST", "/agents/{agent_id}/revoke"): (_revoke_agent, _expect("login", "login", "403", "303", "404", "303")),
    # Alerts: read by everyone signed in within their reach; acknowledged by X1's officers and admins; another
    # unit's alert reads as not found.
    ("GET", "/alerts"): (_get("/alerts?unit=X1"), X1_READERS),
    ("POST", "/alerts/{alert_id}/ack"): (_ack_alert, _expect("login", "login", "403", "303", "404", "303")),
}


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, HEAD left out (it follows GET); a mount as ``<prefix>/{path}``."""
    found: set[tuple[str, str]] = set()
    pending = list(app.routes)
    while pending:
        route = pending.pop()
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:  # FastAPI keeps an included router as one entry: its routes are inside
            pending.extend(contexts())
            continue
        path = getattr(route, "path", None)
        methods = getattr(route, "methods", None)
        assert isinstance(path, str), f"a route without a path: {route!r}"
        if methods is None:  # a mounted app (static files) answers GET below its prefix
            found.add(("GET", f"{path}/{{path}}"))
            continue
        found.update((method, path) for method in methods if method != "HEAD")
    return found


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """The app in-process on a seeded district of each engine (one per module: the rules only add rows)."""
    folder = tmp_path_factory.mktemp(f"access-{request.param}")
    database: AbstractContextManager[str] = (
        new_postgres_database() if request.param == "postgresql" else nullcontext(f"sqlite:///{folder}/kiemke.db"))
    with database as url:
        engine = make_engine(url)
        upgrade(engine)
        world = seed(engine)
        engine.dispose()
        settings = Settings(environment="test", data_dir=folder, database_url=url, scheduler=False,
                            metrics_token=METRICS_TOKEN)
        app = create_app(settings)
        with TestClient(app, follow_redirects=False) as client:
            yield Env(client, world, settings)
        app.state.engine.dispose()


def _callers(env: Env) -> list[Caller]:
    callers = [Caller("anonymous", {}), Caller("agent", {"Authorization": f"Bearer {env.world.agent_key}"})]
    for name in USERS:
        callers.append(Caller(name, {"Cookie": f"{SESSION_COOKIE}={session_cookie(env.client, name)}"}))
    return callers


def test_every_route_has_a_rule(tmp_path: Path) -> None:
    app = create_app(Settings(environment="test", data_dir=tmp_path, scheduler=False))
    served = served_routes(app)
    app.state.engine.dispose()
    missing = sorted(served - ACCESS.keys())
    assert not missing, "routes without an access rule in tests/server/test_route_access.py: " + ", ".join(
        f"{method} {path}" for method, path in missing)
    assert not ACCESS.keys() - served, f"rules for routes the app does not serve: {sorted(ACCESS.keys() - served)}"


def test_the_callers_are_the_ones_described() -> None:
    assert set(CALLERS) == {"anonymous", "agent", *USERS}
    assert USERS["officer"][1] == "X1" and USERS["outsider"][1] == "X2" and USERS["viewer"][1] == "X1"


def _matches(answer: httpx.Response, want: str) -> bool:
    got = str(answer.status_code)
    to_login = got == "303" and answer.headers.get("location", "").startswith("/login")
    if want == "login":
        return to_login
    if want == "303":
        return got == "303" and not to_login
    return got == want or (want.endswith("xx") and got[0] == want[0])


def _changes_by(env: Env, username: str) -> int:
    """How many audit entries record a change made by ``username`` (sign-ins and downloads left out)."""
    engine = env.client.app.state.engine  # type: ignore[attr-defined]
    with reading(engine) as session:
        query = select(func.count()).select_from(AuditLog).where(
            AuditLog.actor == username, ~AuditLog.action.startswith("console."))  # type: ignore[attr-defined]
        return int(session.exec(query).one())


@pytest.mark.parametrize("route", sorted(ACCESS), ids=lambda r: f"{r[0]} {r[1]}")
def test_each_caller_gets_the_answer_of_the_rule(env: Env, route: tuple[str, str]) -> None:
    call, expected = ACCESS[route]
    wrong = []
    for caller in _callers(env):
        env.client.cookies.clear()  # only the caller's own credentials go with the request
        before = _changes_by(env, caller.name)
        answer = call(env, caller)
        env.client.cookies.clear()  # nor does a cookie the answer set go with the next caller's
        want = expected[caller.name]
        if not _matches(answer, want):
            wrong.append(f"{caller.name}: {answer.status_code} {answer.headers.get('location', '')} (rule: {want}) "
                         f"{answer.text[:200]!r}")
        elif want not in ("2xx", "303") and _changes_by(env, caller.name) != before:
            wrong.append(f"{caller.name}: refused ({answer.status_code}) but a change was audited")
    assert not wrong, f"{route[0]} {route[1]}\n" + "\n".join(wrong)


def test_metrics_answer_their_own_token(env: Env) -> None:
    env.client.cookies.clear()
    answer = env.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200
    assert "kiemke" in answer.text
