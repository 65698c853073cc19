"""The read API (``/api/v1/devices``, ``/devices/{id}``, ``/units``, ``/figures``) with personal API tokens.

On the small district of ``tests/server/world.py`` (UBND with the communes X1 and X2; an officer bound to X1,
an officer bound to X2, an unbound admin), on SQLite and PostgreSQL: a token reaches its user's scope and
nothing else, is refused once revoked, expired or its user disabled (each use of a revoked one audited),
records its last use, and what it returns is the console's list and figures, names as plain JSON text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import select

from server.api.deps import SESSION_COOKIE
from server.clock import utcnow
from server.config import Settings
from server.db import reading, writing
from server.main import create_app
from server.models import ApiToken, AuditLog
from server.services.api_tokens import create_api_token, revoke_api_token
from server.services.assets import AssetForm, add_asset
from server.services.users import set_disabled
from tests.server.world import World, seed, session_cookie

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def world(engine: Engine) -> World:
    """The small district, plus a scanner in X1 whose name is markup and a camera in X2."""
    made = seed(engine)
    add_asset(engine, AssetForm({"name": XSS, "unit": "X1", "kind": "scanner", "status": "in_use"}),
              actor="test", allowed={"X1"}, today=utcnow().date())
    add_asset(engine, AssetForm({"name": "Camera xã hai", "unit": "X2", "kind": "camera", "status": "in_use"}),
              actor="test", allowed={"X2"}, today=utcnow().date())
    return made


@pytest.fixture
def api(engine: Engine, world: World, database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The whole app on the seeded database."""
    app = create_app(Settings(environment="test", data_dir=tmp_path, database_url=database_url, scheduler=False))
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def token_for(engine: Engine, username: str, days: int = 30) -> str:
    """A new personal API token of ``username``."""
    with writing(engine) as session:
        secret, _ = create_api_token(session, username, f"test of {username}", days=days, actor="test", now=utcnow())
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def names(answer: dict[str, object]) -> set[str]:
    data = answer["data"]
    assert isinstance(data, list)
    return {row["name"] for row in data}


def test_an_officers_token_reads_their_commune_and_nothing_else(api: TestClient, engine: Engine,
                                                                 world: World) -> None:
    officer = bearer(token_for(engine, "officer"))  # bound to X1
    listed = api.get("/api/v1/devices", headers=officer)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["unit"] == "X1" and body["count"] == 2
    assert names(body) == {"Máy in tổ một cửa", XSS}
    assert {row["unit"] for row in body["data"]} == {"X1"}
    # Another commune: its list, its units, its figures, its device by id are all out of reach.
    assert api.get("/api/v1/devices?unit=X2", headers=officer).status_code == 403
    assert api.get("/api/v1/devices?unit=UBND", headers=officer).status_code == 403
    assert api.get("/api/v1/figures?unit=X2", headers=officer).status_code == 403
    assert api.get("/api/v1/units?unit=X2", headers=officer).status_code == 403
    assert api.get("/api/v1/devices?unit=NOWHERE", headers=officer).status_code == 403  # no hint it is unknown
    admin = bearer(token_for(engine, "admin"))
    camera = next(row for row in api.get("/api/v1/devices?unit=X2", headers=admin).json()["data"])
    assert api.get(f"/api/v1/devices/{camera['id']}", headers=officer).status_code == 404
    assert api.get(f"/api/v1/devices/{world.device_id}", headers=officer).json()["name"] == "Máy in tổ một cửa"
    units = api.get("/api/v1/units", headers=officer).json()
    assert [u["code"] for u in units["data"]] == ["X1"]
    figures = api.get("/api/v1/figures", headers=officer).json()
    assert figures["unit"] == "X1"
    assert figures["figures"]["units_with_scanner"]["items"] == ["X1"]
    counts = api.get("/api/v1/figures?items=false", headers=officer).json()["figures"]["units_with_scanner"]
    assert (counts["numerator"], counts["denominator"], counts["items"]) == (1, 1, [])


def test_the_admins_token_reads_everything_and_units_keep_own_and_subtree_apart(api: TestClient,
                                                                                engine: Engine) -> None:
    admin = bearer(token_for(engine, "admin"))
    everything = api.get("/api/v1/devices", headers=admin).json()
    assert everything["unit"] is None and everything["count"] == 3
    units = {u["code"]: u for u in api.get("/api/v1/units?figures=true", headers=admin).json()["data"]}
    assert units["UBND"]["own_devices_in_use"] == 0 and units["UBND"]["subtree_devices_in_use"] == 3
    assert units["X1"]["own_devices_in_use"] == units["X1"]["subtree_devices_in_use"] == 2
    assert units["X1"]["parent"] == "UBND"
    scanner = units["UBND"]["subtree_figures"]["units_with_scanner"]
    assert (scanner["numerator"], scanner["denominator"]) == (1, 2)  # of the two communes, X1 has one
    assert api.get("/api/v1/devices?unit=NOWHERE", headers=admin).status_code == 404


def test_the_list_takes_the_consoles_filters_and_pages(api: TestClient, engine: Engine) -> None:
    admin = bearer(token_for(engine, "admin"))
    assert names(api.get("/api/v1/devices?kind=camera", headers=admin).json()) == {"Camera xã hai"}
    assert names(api.get("/api/v1/devices?q=may%20in", headers=admin).json()) == {"Máy in tổ một cửa"}
    assert api.get("/api/v1/devices?q=MAY+IN&status=retired", headers=admin).json()["count"] == 0
    own = api.get("/api/v1/devices?unit=UBND&subunits=false", headers=admin).json()
    assert own["count"] == 0
    first = api.get("/api/v1/devices?sort=name&size=2", headers=admin).json()
    second = api.get("/api/v1/devices?sort=name&size=2&page=2", headers=admin).json()
    assert (first["count"], first["pages"], len(first["data"]), len(second["data"])) == (3, 2, 2, 1)
    assert not names(first) & names(second)
    beyond = api.get("/api/v1/devices?page=9", headers=admin).json()
    assert beyond["data"] == [] and beyond["count"] == 3
    for bad in ("kind=toaster", "issue=nonsense", "figure=units_with_scanner", "sort=colour", "size=0",
                "as_of=2999-01-01", "age=old", "unit=X%001"):
        answer = api.get(f"/api/v1/devices?{bad}", headers=admin)
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.json()["detail"]


def test_the_api_list_is_the_consoles_export(api: TestClient, engine: Engine) -> None:
    """The same filters give the same devices through the API and the console's CSV."""
    admin = bearer(token_for(engine, "admin"))
    from_api = {row["id"] for row in api.get("/api/v1/devices?kind=scanner", headers=admin).json()["data"]}
    api.cookies.set(SESSION_COOKIE, session_cookie(api, "admin"))
    exported = api.get("/devices.csv?kind=scanner")
    api.cookies.clear()
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert from_api == {int(r["id"]) for r in rows} and len(from_api) == 1


def test_a_device_name_of_markup_stays_text_in_the_api_and_the_exports(api: TestClient, engine: Engine) -> None:
    officer = bearer(token_for(engine, "officer"))
    listed = api.get("/api/v1/devices?kind=scanner", headers=officer)
    assert listed.headers["content-type"].startswith("application/json")
    assert listed.headers["x-content-type-options"] == "nosniff"
    (row,) = listed.json()["data"]
    assert row["name"] == XSS  # the exact text, for the caller to escape where it shows it
    assert api.get(f"/api/v1/devices/{row['id']}", headers=officer).json()["name"] == XSS
    api.cookies.set(SESSION_COOKIE, session_cookie(api, "officer"))
    exported = api.get("/devices.csv?kind=scanner").text
    workbook = api.get("/devices.xlsx?kind=scanner").content
    page = api.get(f"/devices/{row['id']}").text
    api.cookies.clear()
    assert XSS in exported  # CSV is data: the text as entered, never a formula
    cells = [c.value for r in load_workbook(io.BytesIO(workbook)).active.iter_rows() for c in r]
    assert XSS in cells
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_missing_unknown_and_session_credentials_are_401(api: TestClient, engine: Engine) -> None:
    for headers in ({}, bearer("kkr_not-a-token"), bearer("nonsense"), {"Authorization": "Basic YTpi"}):
        answer = api.get("/api/v1/devices", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith("Bearer")
    # A console session is not an API credential (a page's cookie must not open the API to other sites).
    api.cookies.set(SESSION_COOKIE, session_cookie(api, "admin"))
    assert api.get("/api/v1/devices").status_code == 401
    api.cookies.clear()


def test_revoked_tokens_are_refused_and_their_use_audited(api: TestClient, engine: Engine) -> None:
    secret = token_for(engine, "officer")
    assert api.get("/api/v1/figures", headers=bearer(secret)).status_code == 200
    with reading(engine) as session:
        token = session.exec(select(ApiToken)).one()
        assert token.last_used_at is not None  # the use is recorded
        assert token.token_hash != secret and secret not in token.token_hash  # stored hashed
    assert token.id is not None
    with writing(engine) as session:
        revoke_api_token(session, token.id, actor="officer", now=utcnow(), owner="officer")
    answer = api.get("/api/v1/figures", headers=bearer(secret))
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
    with reading(engine) as session:
        actions = [(e.actor, e.action) for e in session.exec(select(AuditLog).order_by(AuditLog.id))]  # type: ignore[arg-type]
    assert ("test", "apitoken.create") in actions
    assert ("officer", "apitoken.revoke") in actions
    assert ("officer", "apitoken.revoked_use") in actions


@pytest.mark.dates
def test_expired_tokens_and_disabled_users_are_refused(api: TestClient, engine: Engine) -> None:
    secret = token_for(engine, "officer", days=1)
    assert api.get("/api/v1/units", headers=bearer(secret)).status_code == 200
    with time_machine.travel(utcnow() + timedelta(days=1, minutes=1)):
        answer = api.get("/api/v1/units", headers=bearer(secret))
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]
    other = token_for(engine, "viewer")
    set_disabled(engine, "viewer", True, actor="admin")
    assert api.get("/api/v1/units", headers=bearer(other)).status_code == 401


def test_the_read_api_is_in_the_openapi_document(api: TestClient) -> None:
    document = api.get("/openapi.json").json()
    for path in ("/api/v1/devices", "/api/v1/devices/{device_id}", "/api/v1/units", "/api/v1/figures"):
        operation = document["paths"][path]["get"]
        assert operation["security"] == [{"ApiToken": []}], path
        assert {"200", "401", "403", "422"} <= set(operation["responses"]), path
    assert document["components"]["securitySchemes"]["ApiToken"]["scheme"] == "bearer"
    parameters = {p["name"] for p in document["paths"]["/api/v1/devices"]["get"]["parameters"]}
    assert {"figure", "issue", "q", "kind", "status", "os", "av", "age", "unseen", "air_gapped", "subunits",
            "sort", "dir", "page", "size", "as_of", "unit"} <= parameters


def test_the_read_api_does_not_import_the_console() -> None:
    """The API stands alone: other systems' access never depends on the console's session code."""
    for module in ("devices", "units", "figures", "tokens", "scoped"):
        text = (Path(__file__).parents[3] / "server" / "api" / f"{module}.py").read_text()
        assert "server.console" not in text, module


def test_figures_carry_an_etag_that_follows_the_data(api: TestClient, engine: Engine) -> None:
    """The encoded answer is kept with the computed scope: the same ETag while nothing changes, 304 for a script
    that sends it back, and a new answer (new tag, new numbers) as soon as the data change."""
    admin = bearer(token_for(engine, "admin"))
    first = api.get("/api/v1/figures", headers=admin)
    tag = first.headers["etag"]
    assert first.status_code == 200 and tag.startswith('"') and first.headers["cache-control"] == "no-store"
    again = api.get("/api/v1/figures", headers=admin)
    assert again.headers["etag"] == tag and again.content == first.content
    assert api.get("/api/v1/figures?items=false", headers=admin).headers["etag"] != tag  # another answer
    unchanged = api.get("/api/v1/figures", headers={**admin, "If-None-Match": f'"other", {tag}'})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["etag"] == tag
    assert api.get("/api/v1/figures", headers={**admin, "If-None-Match": f"W/{tag}"}).status_code == 304
    assert api.get("/api/v1/figures", headers={**admin, "If-None-Match": '"other"'}).status_code == 200
    scanners = first.json()["figures"]["units_with_scanner"]
    own_before = {u["code"]: u["own_devices_in_use"] for u in api.get("/api/v1/units", headers=admin).json()["data"]}
    add_asset(engine, AssetForm({"name": "Máy quét UBND", "unit": "UBND", "kind": "scanner", "status": "in_use"}),
              actor="test", allowed={"UBND"}, today=utcnow().date())
    changed = api.get("/api/v1/figures", headers={**admin, "If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert changed.json()["figures"]["units_with_scanner"]["numerator"] == scanners["numerator"] + 1
    assert api.get("/api/v1/figures?unit=X1", headers={**admin, "If-None-Match": tag}).status_code == 200
    # the units' counts are kept with the scope too, and follow the same change
    units = {u["code"]: u for u in api.get("/api/v1/units", headers=admin).json()["data"]}
    assert units["UBND"]["own_devices_in_use"] == own_before["UBND"] + 1
    assert units["X1"]["own_devices_in_use"] == own_before["X1"]
