"""Schemathesis against every route of the served OpenAPI, on a real uvicorn server, as every kind of caller.

Each operation gets ``EXAMPLES`` generated requests per caller (nobody, the agent's key, a viewer, an
officer, an officer of another unit, the administrator), derandomized so that CI repeats the same run. Every
answer must be no server error and be documented: its status code, its content type and, for JSON, its
shape. The generated inputs go out raw (control characters, NUL, any year, ids beyond 64 bits); what the
fuzzing once found is kept in ``test_fuzz_regressions.py``.

The console's pages and forms are not in the OpenAPI: every console route (a meta-test keeps the list whole)
gets ``EXAMPLES`` requests from Hypothesis, its query parameters or form fields filled with valid and hostile
values, sent by nobody, a viewer, an officer in and out of X1's scope or the administrator; forms carry the
caller's own session CSRF token three times in four, so they reach their handlers. No answer may be a 5xx.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.api.deps import SESSION_COOKIE
from server.clock import utcnow
from server.db import make_engine, upgrade, writing
from server.services.api_tokens import create_api_token
from tests.server.conftest import new_postgres_database
from tests.server.world import USERS, World, seed, served, session_cookie

pytestmark = pytest.mark.slow

EXAMPLES = {"sqlite": 10, "postgresql": 5}  # per operation and caller; PostgreSQL's run is the smaller one
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
CALLERS = ("anonymous", "agent", *USERS)
#: No shrinking: a failure is reported as generated, and the run stays bounded in time.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)


@dataclass
class Served:
    """A running server on a seeded database, with every caller's credentials."""

    engine: str
    url: str
    world: World
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """uvicorn on a seeded database of each engine, signed-in callers ready."""
    folder = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with _database(request.param, folder) as url:
        engine = make_engine(url)
        upgrade(engine)
        world = seed(engine)
        engine.dispose()
        with served(url, folder) as base:
            found = Served(request.param, base, world)
            found.headers = {"anonymous": {}, "agent": {"Authorization": f"Bearer {world.agent_key}"}}
            engine = make_engine(url)
            with httpx.Client(base_url=base) as client:
                for name in USERS:
                    # The console session for the pages and the report API, a personal token for the read API.
                    with writing(engine) as session:
                        secret, _ = create_api_token(session, name, "fuzz", days=1, actor="test", now=utcnow())
                    found.headers[name] = {"Cookie": f"{SESSION_COOKIE}={session_cookie(client, name)}",
                                           "Authorization": f"Bearer {secret}"}
            engine.dispose()
            yield found


def _database(kind: str, folder: Path) -> AbstractContextManager[str]:
    """A new database of ``kind``: its URL while the block runs."""
    if kind == "postgresql":
        return new_postgres_database()
    return nullcontext(f"sqlite:///{folder / 'kiemke.db'}")


def _describe(exc: BaseException) -> str:
    """The failure with every sub-failure Hypothesis or schemathesis grouped under it."""
    inner = [*getattr(exc, "exceptions", ()), *([exc.__cause__] if exc.__cause__ else [])]
    return "\n".join([f"{type(exc).__name__}: {exc}", *(_describe(e) for e in inner)])


@pytest.mark.parametrize("caller", CALLERS)
def test_every_operation_answers_documented_and_never_5xx(api: Served, caller: str) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    headers = api.headers[caller]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7, [op.label for op in operations]
    failures: list[str] = []
    runs = 0
    for operation in operations:

        @settings(max_examples=EXAMPLES[api.engine], deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=PHASES)
        @given(case=operation.as_strategy())
        def fuzz(case: schemathesis.Case) -> None:
            nonlocal runs
            runs += 1
            case.call_and_validate(base_url=api.url, headers=headers, checks=CHECKS, timeout=60)

        try:
            fuzz()
        except Exception as exc:  # one operation's failure must not hide the others'
            failures.append(f"{operation.label}: {_describe(exc)}")
    print(f"{api.engine} {caller}: {len(operations)} operations, {runs} requests")
    assert not failures, "\n\n".join(failures)


def test_the_report_body_is_in_the_served_document(api: Served) -> None:
    document = httpx.get(f"{api.url}/openapi.json").json()
    body = document["paths"]["/api/v1/reports"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/InventoryReport"}
    assert "collected_at" in document["components"]["schemas"]["InventoryReport"]["properties"]



# --- the console's pages: outside the OpenAPI (include_in_schema=False), fuzzed for server errors ---------------

#: Every console page (path as the app declares it) and the query parameters it reads.
_LIST = ("as_of", "unit", "figure", "issue", "q", "kind", "status", "os", "av", "age", "unseen", "air_gapped",
         "subunits", "sort", "dir", "size", "lang")
CONSOLE_GETS: dict[str, tuple[str, ...]] = {
    "/": ("as_of", "unit", "lang"),
    "/devices": (*_LIST, "page"),
    "/devices.csv": _LIST,
    "/devices.xlsx": _LIST,
    "/detections": ("as_of", "unit", "status", "severity", "since", "lang"),
    "/detections.csv": ("as_of", "unit", "status", "severity", "since", "lang"),
    "/detections.xlsx": ("as_of", "unit", "status", "severity", "since", "lang"),
    "/devices/new": ("unit", "lang"),
    "/devices/{device_id}": ("as_of", "unit", "saved", "lang"),
    "/devices/{device_id}/edit": ("lang",),
    "/units": ("as_of", "unit", "figure", "saved", "lang"),
    "/units/{code}/edit": ("lang",),
    "/report": ("as_of", "unit", "format", "lang"),
    "/audit": ("action", "actor", "unit", "since", "until", "page", "lang"),
    "/users": ("lang",),
    "/account": ("changed", "lang"),
    "/account/api-tokens": ("lang",),
    "/import": ("lang",),
    "/reports/kept/{report_id}": ("format", "lang"),
    "/licences": ("retired", "lang"),
    "/licences/new": ("lang",),
    "/licences/{licence_id}/edit": ("lang",),
    "/import/template/{kind}": ("format", "lang"),
    "/tokens": ("unit", "lang"),
    "/agents": ("unit", "lang"),
    "/alerts": ("unit", "state", "rule", "acked", "page", "lang"),
    "/login": ("next", "lang"),
    "/login/link": ("token",),
    "/static/{path}": (),
}
_ASSET = ("name", "unit", "kind", "status", "vendor", "model", "serial", "purchased_on", "air_gapped", "notes")
#: Every console form and its fields; ``csrf`` is added, the caller's own token three times in four.
CONSOLE_POSTS: dict[str, tuple[str, ...]] = {
    "/login": ("username", "password", "next"),
    "/logout": (),
    "/devices/new": _ASSET,
    "/devices/{device_id}/edit": _ASSET,
    "/units/{code}/edit": ("name", "kind", "parent", "staff", "lan", "wifi", "wan", "internet", "one_stop_shop"),
    "/users": ("username", "role", "unit"),
    "/users/{username}/{action}": ("email", "lang"),
    "/account/password": ("current", "new", "again"),
    "/account/api-tokens": ("name", "days", "user"),
    "/import/preview": ("kind",),
    "/licences/new": ("product", "seats", "valid_from", "valid_to", "unit"),
    "/licences/{licence_id}/edit": ("product", "seats", "valid_from", "valid_to", "unit"),
    "/licences/{licence_id}/retire": (),
    "/import/commit": ("kind", "upload"),
    "/account/api-tokens/{token_id}/revoke": (),
    "/tokens": ("unit", "days", "max_uses"),
    "/tokens/{token_id}/revoke": (),
    "/agents/{agent_id}/revoke": (),
    "/alerts/{alert_id}/ack": ("comment",),
}
#: A valid token signs the caller out of every session (logout) or is meaningless (sign-in has its own).
_NO_SESSION_TOKEN = {"/login", "/logout"}
#: Console paths left to other proofs: the API documents (schemathesis reads them) and the Prometheus scrape.
NOT_CONSOLE = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/metrics"}
CONSOLE_CALLERS = ("anonymous", "viewer", "officer", "outsider", "admin")

_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "X1", "X2", "UBND", "ĐX1", "X1'\"<", "2024-05-18", "2024-02-30", "1989-12-31", "0084-01-01",
                     "9999-12-31", "vi", "en", "md", "docx", "all", "computers_with_agent", "firewall_off", "0", "-1",
                     "100001", "//evil.example", "/\\evil", "a\x00b", "\x1b[2J", "x" * 2100,
                     # valid choices, so that forms and filters get past their first check
                     "printer", "scanner", "desktop", "monitor", "in_use", "retired", "commune", "school", "yes",
                     "no", "on", "fibre", "viewer", "officer", "admin", "spare-1", "25", "500", "name", "desc",
                     "past_service_life", "device.edit", "12", "open", "acknowledged", "resolved",
                     "antivirus_disabled", "air_gap_violation", "a@b.vn"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.dates().map(date.isoformat),
)
#: Path parameters: ``{device}`` is replaced by X1's printer; user names never name a caller (a disabled or
#: reset caller would sign out the rest of the run).
_PATH_VALUES = {
    "report_id": st.one_of(st.just("1"), st.sampled_from(["0", "-1", "2147483648", "1e3"]), st.text(max_size=20)),
    "licence_id": st.one_of(st.sampled_from(["0", "1", "2", "-1", "2147483648", "1e3"]),
                            st.integers(min_value=-(2**70), max_value=2**70).map(str), st.text(max_size=20)),
    "kind": st.one_of(st.sampled_from(["units", "assets", "licences", "ĐX1", ""]), st.text(max_size=20)),
    "device_id": st.one_of(st.just("{device}"),
                           st.sampled_from(["0", "-1", "2147483648", "9223372036854775808", "1e3"]),
                           st.integers(min_value=-(2**70), max_value=2**70).map(str), st.text(max_size=20)),
    "code": st.one_of(st.sampled_from(["X1", "X2", "UBND"]), st.sampled_from(["ĐX1", "a\x00b", ""]),
                      st.text(max_size=20)),
    "username": st.one_of(st.sampled_from(["spare-1", "nobody", "a\x00b"]), st.text(max_size=30)).filter(
        lambda name: name.strip() not in USERS),
    "token_id": st.one_of(st.sampled_from(["0", "1", "-1", "2147483648", "9223372036854775808", "1e3"]),
                          st.integers(min_value=-(2**70), max_value=2**70).map(str), st.text(max_size=20)),
    "agent_id": st.one_of(st.uuids().map(str), st.sampled_from(["0", "not-a-uuid", "a\x00b"]), st.text(max_size=40)),
    "action": st.one_of(st.sampled_from(["disable", "enable", "reset-password", "contact", "delete"]),
                        st.text(max_size=12)),
    "alert_id": st.one_of(st.sampled_from(["0", "1", "-1", "2147483648", "9223372036854775808", "1e3"]),
                          st.integers(min_value=-(2**70), max_value=2**70).map(str), st.text(max_size=20)),
    "path": st.one_of(st.sampled_from(["console.css", "favicon.svg", "../pyproject.toml", "..%2F..%2Fetc%2Fpasswd",
                                       "%00"]), st.text(max_size=30)),
}


@dataclass(frozen=True)
class ConsoleRequest:
    """One generated console request: who sends it, what, and whether it carries the session's CSRF token."""

    method: str
    route: str
    path: dict[str, str]
    values: dict[str, str]
    own_csrf: bool


def _placeholders(route: str) -> list[str]:
    return [part[1:-1] for part in route.split("/") if part.startswith("{")]


def _console_requests(method: str, route: str) -> st.SearchStrategy[ConsoleRequest]:
    """Requests to one console route: its parameters or form fields, any subset, valid and hostile values."""
    fields = CONSOLE_GETS[route] if method == "GET" else (*CONSOLE_POSTS[route], "csrf")
    values = st.fixed_dictionaries({}, optional={name: _VALUES for name in fields})
    path = st.fixed_dictionaries({name: _PATH_VALUES[name] for name in _placeholders(route)})
    own = st.just(False) if method == "GET" or route in _NO_SESSION_TOKEN else st.sampled_from([True] * 3 + [False])
    return st.builds(ConsoleRequest, st.just(method), st.just(route), path, values, own)


def _url(request: ConsoleRequest, world: World) -> str:
    url = request.route
    for name, value in request.path.items():
        url = url.replace(f"{{{name}}}", quote(value.replace("{device}", str(world.device_id)), safe=""))
    return url


def test_the_console_fuzz_covers_every_console_route(tmp_path: Path) -> None:
    from server.config import Settings
    from server.main import create_app
    from tests.server.test_route_access import served_routes

    app = create_app(Settings(environment="test", data_dir=tmp_path, scheduler=False))
    routes = {(m, p) for m, p in served_routes(app) if not p.startswith("/api/") and p not in NOT_CONSOLE}
    app.state.engine.dispose()
    fuzzed = {("GET", p) for p in CONSOLE_GETS} | {("POST", p) for p in CONSOLE_POSTS}
    assert routes == fuzzed, f"not fuzzed: {sorted(routes - fuzzed)}; not served: {sorted(fuzzed - routes)}"


def test_console_pages_never_answer_a_server_error(api: Served) -> None:
    routes = [("GET", route) for route in CONSOLE_GETS] + [("POST", route) for route in CONSOLE_POSTS]
    seen: list[int] = []
    failures: list[str] = []
    with httpx.Client(base_url=api.url, follow_redirects=False, timeout=60) as client:
        csrf = {name: _session_csrf(client, api.headers[name]) for name in CONSOLE_CALLERS}

        def send(request: ConsoleRequest, who: str) -> None:
            client.cookies.clear()
            url, headers = _url(request, api.world), api.headers[who]
            try:
                if request.method == "GET":
                    answer = client.get(url, params=request.values, headers=headers)
                else:
                    data = {"csrf": csrf[who]} if request.own_csrf and csrf[who] else {}
                    answer = client.post(url, data={**request.values, **data}, headers=headers)
            except httpx.TransportError as exc:
                raise AssertionError(f"{who}: {request!r}: no answer ({exc!r})") from exc
            seen.append(answer.status_code)
            assert answer.status_code < 500, f"{who}: {request!r}: {answer.status_code} {answer.text[:300]}"

        for method, route in routes:
            fuzz = settings(max_examples=EXAMPLES[api.engine], deadline=None, derandomize=True, database=None,
                            suppress_health_check=list(HealthCheck), phases=PHASES)(
                given(request=_console_requests(method, route), who=st.sampled_from(CONSOLE_CALLERS))(send))
            try:
                fuzz()
            except Exception as exc:  # one route's failure must not hide the others'
                failures.append(f"{method} {route}: {_describe(exc)}")
    print(f"{api.engine} console: {len(routes)} routes, {len(seen)} requests, statuses {sorted(set(seen))}")
    assert not failures, "\n\n".join(failures)
    assert len(seen) >= len(routes) * EXAMPLES[api.engine] // 2


def _session_csrf(client: httpx.Client, headers: dict[str, str]) -> str:
    """The CSRF token of a signed-in caller's session (from their account page); empty for nobody."""
    page = client.get("/account", headers=headers)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    client.cookies.clear()
    return found.group(1) if found else ""
