"""Correcting a unit's facts from the console: versioned, audited, within reach, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from server.clock import local_today
from server.db import reading
from server.models import AuditLog, OrgUnitVersion, table_of
from server.services.figures import figures_as_of
from server.services.policy import Policy
from server.services.state import UnitState
from tests.server.console.conftest import csrf_of, sign_in


def _units(client: TestClient) -> dict[str, UnitState]:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    day = local_today(settings.tz)
    with reading(client.app.state.engine) as session:  # type: ignore[attr-defined]
        snap = figures_as_of(session, day, policy=Policy.from_settings(settings), tz=settings.tz).snapshot
    return {u.code: u for u in snap.units}


def _values(client: TestClient, code: str) -> dict[str, str]:
    page = client.get(f"/units/{code}/edit")
    assert page.status_code == 200, page.text
    values = {"csrf": csrf_of(page.text)}
    values.update(dict(re.findall(r'<input id="f-\w+" name="(\w+)" value="([^"]*)"', page.text)))
    for name in ("kind", "parent", "lan", "wifi", "wan", "internet"):
        block = re.search(rf'name="{name}".*?</select>', page.text, re.S)
        assert block is not None
        chosen = re.search(r'<option value="([^"]*)" selected', block.group(0))
        values[name] = chosen.group(1) if chosen else ""
    if 'name="one_stop_shop" value="on" checked' in page.text:
        values["one_stop_shop"] = "on"
    return values


def _audit(client: TestClient) -> list[dict[str, object]]:
    log = table_of(AuditLog)
    with client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(sa.select(log.c.actor, log.c.detail).where(log.c.action == "unit.edit")).all()
    return [{"actor": r.actor, **json.loads(r.detail)} for r in rows]


def test_officer_corrects_headcount_and_lan_of_their_unit(app_client: TestClient) -> None:
    assert sign_in(app_client, "pb") == 303
    before = _units(app_client)["PB01"]
    values = _values(app_client, "PB01")
    values["staff"], values["lan"] = "1.234", "no"
    saved = app_client.post("/units/PB01/edit", data=values)
    assert saved.status_code == 303
    assert "Đã lưu đơn vị PB01" in app_client.get(saved.headers["location"]).text
    after = _units(app_client)["PB01"]
    assert after.staff == 1234 and after.lan is False and after.parent_code == before.parent_code
    entry = _audit(app_client)[-1]
    assert entry["actor"] == "pb" and entry["unit"] == "PB01"
    assert entry["changes"] == {"staff": [before.staff, 1234], "lan": [before.lan, False]}
    with app_client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        versions = conn.execute(sa.select(sa.func.count()).select_from(table_of(OrgUnitVersion))
                                .where(table_of(OrgUnitVersion).c.name == after.name)).scalar()
    assert versions == 2


def test_refused_fields_and_units_out_of_reach(app_client: TestClient) -> None:
    assert sign_in(app_client, "pb") == 303
    values = _values(app_client, "PB01")
    refused = app_client.post("/units/PB01/edit", data={**values, "name": "", "staff": "many", "parent": ""})
    assert refused.status_code == 400
    for field in ("name", "staff", "parent"):
        assert f'id="err-{field}"' in refused.text, field
    assert app_client.get("/units/X01/edit").status_code == 404
    assert app_client.post("/units/X01/edit", data={**values, "name": "X"}).status_code == 404
    assert _audit(app_client) == []


def test_a_unit_cannot_become_its_own_ancestor(admin: TestClient) -> None:
    units = _units(admin)
    root = next(code for code, u in units.items() if u.parent_code is None)
    values = _values(admin, root)
    refused = admin.post(f"/units/{root}/edit", data={**values, "parent": "PB01"})
    assert refused.status_code == 400 and 'id="err-parent"' in refused.text
    assert _units(admin)[root].parent_code is None


def test_a_viewer_cannot_edit_a_unit(commune_viewer: TestClient) -> None:
    assert commune_viewer.get("/units/X01/edit").status_code == 403
    token = csrf_of(commune_viewer.get("/units").text)
    refused = commune_viewer.post("/units/X01/edit", data={"csrf": token, "name": "X", "kind": "commune"})
    assert refused.status_code == 403
    assert "/units/X01/edit" not in commune_viewer.get("/units").text
