"""Schemathesis against every route of the served OpenAPI, on a real uvicorn server, as every kind of caller.

Each operation gets ``EXAMPLES`` generated requests per caller (nobody, the agent's key, a viewer, an
officer, an officer of another unit, the administrator), derandomized so that CI repeats the same run. Every
answer must be no server error and be documented: its status code, its content type and, for JSON, its
shape. The generated inputs go out raw (control characters, NUL, any year, ids beyond 64 bits); what the
fuzzing once found is kept in ``test_fuzz_regressions.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

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

from server.console.auth import SESSION_COOKIE
from server.db import make_engine, upgrade
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
            with httpx.Client(base_url=base) as client:
                for name in USERS:
                    found.headers[name] = {"Cookie": f"{SESSION_COOKIE}={session_cookie(client, name)}"}
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

CONSOLE_GETS = ("/", "/devices", "/devices.csv", "/units", "/report", "/audit", "/login", "/login/link")
CONSOLE_PARAMS = ("as_of", "unit", "figure", "issue", "q", "page", "format", "lang", "action", "next", "token")
_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "X1", "X2", "UBND", "2024-05-18", "2024-02-30", "vi", "en", "md", "docx", "all",
                     "computers_with_agent", "firewall_off", "0", "-1", "100001", "//evil.example", "/\\evil"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.dates().map(date.isoformat),
)
_FORMS = {"/login": ("username", "password", "csrf", "next"), "/logout": ("csrf",)}


def _console_request() -> st.SearchStrategy[tuple[str, str, dict[str, str]]]:
    gets = st.tuples(st.just("GET"), st.sampled_from(CONSOLE_GETS),
                     st.dictionaries(st.sampled_from(CONSOLE_PARAMS), _VALUES, max_size=4))
    posts = st.sampled_from(sorted(_FORMS)).flatmap(lambda path: st.tuples(
        st.just("POST"), st.just(path), st.dictionaries(st.sampled_from(_FORMS[path]), _VALUES, max_size=4)))
    return st.one_of(gets, posts)


def test_console_pages_never_answer_a_server_error(api: Served) -> None:
    callers = [api.headers[name] for name in ("anonymous", "admin", "officer")]
    seen: list[int] = []
    with httpx.Client(base_url=api.url, follow_redirects=False, timeout=60) as client:

        @settings(max_examples=EXAMPLES[api.engine] * 6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=PHASES)
        @given(request=_console_request(), who=st.sampled_from(range(len(callers))))
        def fuzz(request: tuple[str, str, dict[str, str]], who: int) -> None:
            method, path, values = request
            client.cookies.clear()
            if method == "GET":
                answer = client.get(path, params=values, headers=callers[who])
            else:
                answer = client.post(path, data=values, headers=callers[who])
            seen.append(answer.status_code)
            assert answer.status_code < 500, f"{method} {path} {values!r}: {answer.status_code} {answer.text[:300]}"

        fuzz()
    print(f"{api.engine} console: {len(seen)} requests, statuses {sorted(set(seen))}")
    assert len(seen) >= EXAMPLES[api.engine] * 3
