"""The device page's kept timeline: computed once while the data stand still, again when a report or an edit
arrives (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from server.console import device_detail
from server.console.timeline import History
from server.models import Device, Observation, OrgUnit, table_of
from tests.server.console.conftest import sign_in
from tests.server.console.test_device_page import _form


def _engine(client: TestClient) -> sa.Engine:
    engine: sa.Engine = client.app.state.engine  # type: ignore[attr-defined]
    return engine


def _pc(client: TestClient) -> int:
    d, u = table_of(Device).c, table_of(OrgUnit).c
    with _engine(client).connect() as conn:
        found = conn.execute(sa.select(d.id).join(table_of(OrgUnit), u.id == d.unit_id)
                             .where(d.hostname == "PB01-PC01", u.code == "PB01")).scalar()
    assert found is not None
    return int(found)


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The devices whose history was read from the database, one entry per computation."""
    calls: list[int] = []
    real: Callable[..., History] = device_detail.device_history

    def counted(conn: Any, device_id: int, *args: Any) -> History:
        calls.append(device_id)
        return real(conn, device_id, *args)

    monkeypatch.setattr(device_detail, "device_history", counted)
    return calls


def _timeline(client: TestClient, pc: int) -> str:
    page = client.get(f"/devices/{pc}")
    assert page.status_code == 200
    start = page.text.index('id="sec-timeline"')
    return page.text[start:]


def test_a_new_report_changes_the_kept_timeline(app_client: TestClient, computed: list[int]) -> None:
    assert sign_in(app_client, "admin") == 303
    pc = _pc(app_client)
    before = _timeline(app_client, pc)
    assert _timeline(app_client, pc) == before and computed == [pc]  # warm: kept, not read again
    o = table_of(Observation).c
    with _engine(app_client).begin() as conn:
        last = conn.execute(sa.select(sa.func.max(o.observed_at)).where(o.device_id == pc)).scalar()
        facts = json.loads(conn.execute(sa.select(o.facts).where(o.device_id == pc, o.observed_at == last)).scalar())
        facts["network"]["interfaces"] = [{"name": "Ethernet", "ipv4": ["10.99.0.7"], "mac": "00:11:22:33:44:99"}]
        conn.execute(table_of(Observation).insert(), [{
            "device_id": pc, "observed_at": last + timedelta(minutes=1), "received_at": last + timedelta(minutes=1),
            "report_id": uuid.uuid4(), "content_hash": uuid.uuid4().hex, "hostname": "PB01-PC01",
            "facts": json.dumps(facts)}])
    after = _timeline(app_client, pc)
    assert computed == [pc, pc]
    assert "10.99.0.7" not in before and after.count("10.99.0.7") == 1
    newest = after.index('<li class="origin-')
    assert after.index("<ins>10.99.0.7</ins>", newest) < after.index('<li class="origin-', newest + 1)
    assert "00:11:22:33:44:99" in app_client.get(f"/devices/{pc}").text  # the latest report's facts too


def test_a_hand_edit_changes_the_kept_timeline(app_client: TestClient, computed: list[int]) -> None:
    assert sign_in(app_client, "pb") == 303
    pc = _pc(app_client)
    before = _timeline(app_client, pc)
    assert "Dell Edit" not in before and "Sửa tay bởi pb" not in before
    values = _form(app_client, f"/devices/{pc}/edit")  # the form as it stands, the vendor corrected
    values["vendor"] = "Dell Edit"
    assert app_client.post(f"/devices/{pc}/edit", data=values).status_code == 303
    after = _timeline(app_client, pc)
    assert computed == [pc, pc]
    newest = after[after.index('<li class="origin-'):]
    assert newest.startswith('<li class="origin-edit">') and "Sửa tay bởi pb" in newest.split("</li>\n")[0]
    assert "<ins>Dell Edit</ins>" in newest.split("</ul>")[0]
    # The English page words the same kept timeline in its own language.
    english = app_client.get(f"/devices/{pc}?lang=en").text
    assert "Edited by pb" in english and computed == [pc, pc]
