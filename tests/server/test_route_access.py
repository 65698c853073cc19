"""Who may call each route: every route of the app has a rule below, and each rule is called for real.

``ACCESS`` lists, for every (method, path) the app serves, the request to make and the answer each caller
must get: nobody, the agent's key (X1), a viewer and an officer bound to X1 (the scope asked for), an officer
bound to X2 (out of that scope), the administrator. A route added without a rule fails
``test_every_route_has_a_rule`` with its name.
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

from server.config import Settings
from server.console.auth import LOGIN_COOKIE, SESSION_COOKIE
from server.db import make_engine, upgrade, writing
from server.main import create_app
from server.services.enrolment import create_token
from tests.server.conftest import new_postgres_database
from tests.server.factories import make_report
from tests.server.world import KEPT_AS_OF, USERS, World, seed, session_cookie

CALLERS = ("anonymous", "agent", "viewer", "officer", "outsider", "admin")


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
    return lambda env, who: env.client.get(path.format(kept=env.world.kept_id), headers=who.headers)


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
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    cookies = "; ".join(c for c in (who.headers.get("Cookie"), f"{LOGIN_COOKIE}={form.cookies[LOGIN_COOKIE]}") if c)
    env.client.cookies.clear()
    return env.client.post("/login", headers={**who.headers, "Cookie": cookies}, data={
        "username": f"nobody-{who.name}", "password": "not the password", "csrf": csrf.group(1), "next": "/"})


def _logout(env: Env, who: Caller) -> httpx.Response:
    page = env.client.get("/", headers=who.headers)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    return env.client.post("/logout", headers=who.headers, data={"csrf": csrf.group(1) if csrf else "none"})


def _csrf(env: Env, who: Caller) -> str:
    """The caller's CSRF token from a page they may read (none for nobody and agents)."""
    page = env.client.get("/", headers=who.headers)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    return csrf.group(1) if csrf else "none"


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


def _expect(anonymous: str, agent: str, viewer: str, officer: str, outsider: str, admin: str) -> dict[str, str]:
    return dict(zip(CALLERS, (anonymous, agent, viewer, officer, outsider, admin), strict=True))


EVERYONE = _expect(*["2xx"] * 6)
SIGNED_IN_ONLY = _expect("303", "303", "2xx", "2xx", "2xx", "2xx")  # nobody: to the sign-in page
X1_READERS = _expect("303", "303", "2xx", "2xx", "403", "2xx")
X1_EDITORS = _expect("303", "303", "403", "2xx", "403", "2xx")
X1_READERS_API = _expect("401", "401", "2xx", "2xx", "403", "2xx")

#: (method, path as the app declares it) -> (the request, the answer each caller gets).
ACCESS: dict[tuple[str, str], tuple[Call, dict[str, str]]] = {
    ("GET", "/openapi.json"): (_get("/openapi.json"), EVERYONE),
    ("GET", "/docs"): (_get("/docs"), EVERYONE),
    ("GET", "/docs/oauth2-redirect"): (_get("/docs/oauth2-redirect"), EVERYONE),
    ("GET", "/redoc"): (_get("/redoc"), EVERYONE),
    ("GET", "/static/{path}"): (_get("/static/console.css"), EVERYONE),
    ("GET", "/api/v1/health"): (_get("/api/v1/health"), EVERYONE),
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
    ("POST", "/logout"): (_logout, _expect("303", "303", "303", "303", "303", "303")),
    ("GET", "/"): (_get(f"/?unit=X1&as_of={KEPT_AS_OF}"), X1_READERS),
    ("GET", "/devices"): (_get(f"/devices?unit=X1&as_of={KEPT_AS_OF}"), X1_READERS),
    ("GET", "/devices.csv"): (_get(f"/devices.csv?unit=X1&as_of={KEPT_AS_OF}"), X1_READERS),
    ("GET", "/units"): (_get(f"/units?unit=X1&as_of={KEPT_AS_OF}"), X1_READERS),
    ("GET", "/report"): (_get(f"/report?unit=X1&as_of={KEPT_AS_OF}&format=md"), X1_READERS),
    ("GET", "/audit"): (_get("/audit"), _expect("303", "303", "403", "403", "403", "2xx")),
    # Enrolment tokens and agents: officers within their unit's subtree and admins; an out-of-scope unit's
    # token or agent reads as not found.
    ("GET", "/tokens"): (_get("/tokens?unit=X1"), X1_EDITORS),
    ("POST", "/tokens"): (_new_token, _expect("303", "303", "403", "2xx", "400", "2xx")),
    ("POST", "/tokens/{token_id}/revoke"): (_revoke_token, _expect("303", "303", "403", "303", "404", "303")),
    ("GET", "/agents"): (_get("/agents?unit=X1"), X1_EDITORS),
    ("POST", "/agents/{agent_id}/revoke"): (_revoke_agent, _expect("303", "303", "403", "303", "404", "303")),
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
        settings = Settings(environment="test", data_dir=folder, database_url=url, scheduler=False)
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


@pytest.mark.parametrize("route", sorted(ACCESS), ids=lambda r: f"{r[0]} {r[1]}")
def test_each_caller_gets_the_answer_of_the_rule(env: Env, route: tuple[str, str]) -> None:
    call, expected = ACCESS[route]
    wrong = []
    for caller in _callers(env):
        env.client.cookies.clear()  # only the caller's own credentials go with the request
        answer = call(env, caller)
        want = expected[caller.name]
        got = str(answer.status_code)
        if not (got == want or (want.endswith("xx") and got[0] == want[0])):
            wrong.append(f"{caller.name}: {got} (rule: {want}) {answer.text[:200]!r}")
    assert not wrong, f"{route[0]} {route[1]}\n" + "\n".join(wrong)
