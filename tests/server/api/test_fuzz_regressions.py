"""Inputs the API fuzzing found answered with 500, each pinned as it was found, on each engine.

They sit in code other engineers own and are fixing now (ingest dates and text, the report API's parameter
bounds): each case is a strict xfail naming the exact input, so it turns red the moment the fix lands and
the coordinator removes the mark at merge. ``mend`` in ``test_fuzz_api.py`` replaces the same inputs
in the fuzzer's requests until then.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.server.factories import make_report
from tests.server.world import seed, session_cookie


def _admin(client: TestClient, engine: Engine) -> dict[str, str]:
    seed(engine)
    return {"Cookie": f"kiemke_session={session_cookie(client, 'admin')}"}


def _post(client: TestClient, key: str, body: str) -> int:
    answer = client.post("/api/v1/reports", content=body,
                         headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    return int(answer.status_code)


@pytest.mark.xfail(strict=True, reason="GET /api/v1/report/kept/9223372036854775808: 500 (OverflowError on "
                                       "SQLite, out of range on PostgreSQL); bounded ids: server/api/report.py")
def test_a_kept_report_id_beyond_64_bits_is_not_found(client: TestClient, engine: Engine) -> None:
    answer = client.get("/api/v1/report/kept/9223372036854775808", headers=_admin(client, engine))
    assert answer.status_code in (404, 422)


@pytest.mark.xfail(strict=True, reason="GET /api/v1/report?as_of=9999-12-31: 500 (the day after overflows); "
                                       "bounded dates: server/api/report.py")
def test_the_last_representable_day_is_answered(client: TestClient, engine: Engine) -> None:
    answer = client.get("/api/v1/report?as_of=9999-12-31&format=json", headers=_admin(client, engine))
    assert answer.status_code < 500


@pytest.mark.xfail(strict=True, reason="GET /api/v1/report?format=docx&period=%1E: 500 (python-docx refuses a "
                                       "control character); the edge rule of shared/text.py: server/api/report.py")
def test_a_control_character_in_the_period_label_is_not_a_server_error(client: TestClient, engine: Engine) -> None:
    answer = client.get("/api/v1/report?format=docx&period=%1E", headers=_admin(client, engine))
    assert answer.status_code < 500


def test_a_report_after_one_dated_year_84_is_received(client: TestClient, engine: Engine, database_url: str,
                                                      request: pytest.FixtureRequest) -> None:
    if database_url.startswith("sqlite"):
        request.applymarker(pytest.mark.xfail(strict=True, reason=(
            "POST /api/v1/reports with collected_at 0084-01-01T00:00:00Z, then any report of that PC: 500 on "
            "SQLite (the year is stored unpadded and read back as '84-01-01'); services/ingest*")))
    world = seed(engine)
    first = make_report(world.machine_id).model_dump(mode="json")
    first["collected_at"] = "0084-01-01T00:00:00Z"
    statuses = [_post(client, world.agent_key, json.dumps(first)),
                _post(client, world.agent_key, make_report(world.machine_id).model_dump_json())]
    assert all(code < 500 for code in statuses), statuses


def test_a_nul_byte_in_a_hostname_is_not_a_server_error(client: TestClient, engine: Engine, database_url: str,
                                                         request: pytest.FixtureRequest) -> None:
    if database_url.startswith("postgresql"):
        request.applymarker(pytest.mark.xfail(strict=True, reason=(
            "POST /api/v1/reports with hostname 'pc\\x00-1': 500 on PostgreSQL (text cannot hold NUL); the edge "
            "rule of shared/text.py at ingest: services/ingest*")))
    world = seed(engine)
    status = _post(client, world.agent_key, make_report(world.machine_id, hostname="pc\x00-1").model_dump_json())
    assert status < 500, status
