"""Inputs the API fuzzing once answered with 500, each kept as a regression test on each engine.

Found by ``test_fuzz_api.py`` against the first proof run; fixed at their depth since: bounded ids and dates
in query parameters (``server/api/downloads.py``), the edge rule of ``shared/text.py`` at ingest and in
report labels, and datetimes that round-trip on SQLite whatever the year an agent claims.
"""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from server.db import reading
from server.models import Device
from tests.server.factories import make_report
from tests.server.world import seed, session_cookie


def _admin(client: TestClient, engine: Engine) -> dict[str, str]:
    seed(engine)
    return {"Cookie": f"kiemke_session={session_cookie(client, 'admin')}"}


def _post(client: TestClient, key: str, body: str) -> int:
    answer = client.post("/api/v1/reports", content=body,
                         headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    return int(answer.status_code)


def test_a_kept_report_id_beyond_64_bits_is_refused(client: TestClient, engine: Engine) -> None:
    answer = client.get("/api/v1/report/kept/9223372036854775808", headers=_admin(client, engine))
    assert answer.status_code == 422, answer.text


def test_the_last_representable_day_is_refused_with_a_reason(client: TestClient, engine: Engine) -> None:
    answer = client.get("/api/v1/report?as_of=9999-12-31&format=json", headers=_admin(client, engine))
    assert answer.status_code == 422, answer.text
    assert "as_of" in answer.json()["detail"]


def test_a_control_character_in_the_period_label_is_refused(client: TestClient, engine: Engine) -> None:
    answer = client.get("/api/v1/report?format=docx&period=%1E", headers=_admin(client, engine))
    assert answer.status_code == 422, answer.text
    assert "period" in answer.json()["detail"]


def test_a_report_after_one_dated_year_84_is_received(client: TestClient, engine: Engine) -> None:
    world = seed(engine)
    first = make_report(world.machine_id).model_dump(mode="json")
    first["collected_at"] = "0084-01-01T00:00:00Z"
    statuses = [_post(client, world.agent_key, json.dumps(first)),
                _post(client, world.agent_key, make_report(world.machine_id).model_dump_json())]
    assert statuses == [201, 201]
    with reading(engine) as session:  # the device still reads back, its dates in the stored range
        device = session.exec(select(Device).where(Device.machine_id == world.machine_id)).one()
        assert device.last_seen is not None and device.last_seen.year >= 2000


def test_a_nul_byte_in_a_hostname_is_stripped(client: TestClient, engine: Engine) -> None:
    world = seed(engine)
    status = _post(client, world.agent_key, make_report(world.machine_id, hostname="pc\x00-1").model_dump_json())
    assert status == 201
    with reading(engine) as session:
        device = session.exec(select(Device).where(Device.machine_id == world.machine_id)).one()
        assert device.hostname == "pc-1"


# --- the console's forms: a token that is not ASCII (hmac.compare_digest refused it with a TypeError) -----------


def _signed_in(client: TestClient, engine: Engine, name: str) -> dict[str, str]:
    seed(engine)
    return {"Cookie": f"kiemke_session={session_cookie(client, name)}"}


def test_a_non_ascii_csrf_token_on_logout_is_refused(client: TestClient, engine: Engine) -> None:
    answer = client.post("/logout", headers=_signed_in(client, engine, "officer"), data={"csrf": ".𬰪\x92>"},
                         follow_redirects=False)
    assert answer.status_code == 403, answer.text


def test_a_non_ascii_csrf_token_on_a_form_is_refused(client: TestClient, engine: Engine) -> None:
    answer = client.post("/devices/new", headers=_signed_in(client, engine, "officer"),
                         data={"csrf": "é", "name": "Máy quét", "unit": "X1", "kind": "scanner"},
                         follow_redirects=False)
    assert answer.status_code == 403, answer.text


def test_a_non_ascii_sign_in_cookie_is_refused(client: TestClient, engine: Engine) -> None:
    seed(engine)
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    client.cookies.clear()
    answer = client.post("/login", headers={"Cookie": "kiemke_login=\xe9t\xe9".encode("latin-1")},  # type: ignore[dict-item]
                         data={"username": "admin", "password": "x", "csrf": csrf.group(1)}, follow_redirects=False)
    assert answer.status_code == 400, answer.text


def test_a_device_id_beyond_64_bits_is_a_bad_parameter(client: TestClient, engine: Engine) -> None:
    officer = _signed_in(client, engine, "officer")
    for path in ("/devices/9223372036854775808", "/devices/9223372036854775808/edit"):
        answer = client.get(path, headers=officer)
        assert answer.status_code == 400, (path, answer.text)
