"""POST /api/v1/reports and friends: idempotent, bounded, authenticated, never half-written."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server.db import make_engine
from server.models import Device, Observation, ReceivedReport, table_of
from server.services.enrolment import revoke
from shared.protocol import ENROLL_PATH, HEALTH_PATH, HEARTBEAT_PATH, REPORTS_PATH
from tests.server.factories import enrolled_agent, make_report, make_unit


@pytest.fixture
def db(client: TestClient, database_url: str) -> Iterator[Engine]:
    """A second engine on the app's database, to look at what the API wrote."""
    engine = make_engine(database_url)
    make_unit(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def headers(db: Engine) -> dict[str, str]:
    """Bearer headers of an enrolled agent."""
    _, key = enrolled_agent(db)
    return {"Authorization": f"Bearer {key}"}


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table_of(model))).scalar_one())


def _post(client: TestClient, body: str | bytes, headers: dict[str, str]) -> object:
    return client.post(REPORTS_PATH, content=body, headers={**headers, "Content-Type": "application/json"})


def test_same_report_twice_counts_once(client: TestClient, db: Engine, headers: dict[str, str]) -> None:
    body = make_report().model_dump_json()
    first = client.post(REPORTS_PATH, content=body, headers=headers)
    second = client.post(REPORTS_PATH, content=body, headers=headers)
    assert first.status_code == 201 and first.json()["status"] == "accepted"
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert first.json()["device_id"] == second.json()["device_id"]
    assert (_count(db, ReceivedReport), _count(db, Observation), _count(db, Device)) == (1, 1, 1)
    with db.connect() as conn:
        assert conn.execute(sa.select(table_of(Device).c.reports_received)).scalar_one() == 1


def test_unchanged_report_adds_no_observation(client: TestClient, db: Engine, headers: dict[str, str]) -> None:
    from datetime import timedelta

    from tests.server.factories import T0

    for hours in (0, 4, 8):
        assert client.post(REPORTS_PATH, content=make_report(collected_at=T0 + timedelta(hours=hours))
                           .model_dump_json(), headers=headers).status_code == 201
    changed = make_report(collected_at=T0 + timedelta(hours=12), av_enabled=False)
    assert client.post(REPORTS_PATH, content=changed.model_dump_json(), headers=headers).status_code == 201
    assert _count(db, Observation) == 2
    with db.connect() as conn:
        row = conn.execute(sa.select(table_of(Device).c.reports_received, table_of(Device).c.last_seen)).one()
    assert row.reports_received == 4


def test_body_over_limit_is_413_by_header_and_by_stream(
    client: TestClient, db: Engine, headers: dict[str, str]
) -> None:
    limit = client.app.state.settings.max_report_bytes  # type: ignore[attr-defined]
    big = make_report(errors=[{"collector": "x", "error": "y", "detail": "z" * 4000}] * 20).model_dump_json()
    assert len(big) > limit
    assert client.post(REPORTS_PATH, content=big, headers=headers).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while streaming
        for i in range(0, len(big), 4096):
            yield big[i : i + 4096].encode()

    response = client.post(REPORTS_PATH, content=chunks(), headers=headers)
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert _count(db, ReceivedReport) == 0


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("{not json", "not valid"),
        ('{"machine_id": "m"}', "collected_at"),
        (json.dumps({"machine_id": "m", "collected_at": "2024-05-01T08:00:00+00:00", "schema_version": 99}),
         "schema_version 99 is not supported"),
        (json.dumps({"machine_id": "", "collected_at": "yesterday", "schema_version": 0}), "schema_version 0"),
        ("[]", "not valid"),
    ],
)
def test_malformed_or_unsupported_is_422_with_a_readable_message(
    client: TestClient, db: Engine, headers: dict[str, str], body: str, needle: str
) -> None:
    response = client.post(REPORTS_PATH, content=body, headers=headers)
    assert response.status_code == 422
    assert needle in response.json()["detail"]
    assert (_count(db, ReceivedReport), _count(db, Device)) == (0, 0)


@pytest.mark.parametrize("authorization", [None, "Bearer nonsense", "Basic abc", "Bearer kk_{agent}_wrong"])
def test_unknown_key_is_401(client: TestClient, db: Engine, headers: dict[str, str], authorization: str | None) -> None:
    agent = headers["Authorization"].split("_")[1]
    sent = {"Authorization": authorization.format(agent=agent)} if authorization else {}
    response = client.post(REPORTS_PATH, content=make_report().model_dump_json(), headers=sent)
    assert response.status_code == 401
    assert response.json()["detail"]
    # Even a malformed report from an unknown key hears 401 first, so the agent re-enrols.
    assert client.post(REPORTS_PATH, content="{}", headers=sent).status_code == 401
    assert _count(db, ReceivedReport) == 0


def test_revoked_key_is_401(client: TestClient, db: Engine) -> None:
    from server.db import writing

    agent_id, key = enrolled_agent(db)
    with writing(db) as session:
        assert revoke(session, agent_id, actor="test")
    response = client.post(REPORTS_PATH, content=make_report().model_dump_json(),
                           headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401


def test_failure_midway_leaves_nothing(client: TestClient, db: Engine, headers: dict[str, str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """An error after the device and report rows were written rolls them all back."""
    import server.services.ingest as ingest

    def explode(*args: object) -> object:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest, "plan", explode)  # after the device is created, before the report is recorded
    response = TestClient(client.app, raise_server_exceptions=False).post(
        REPORTS_PATH, content=make_report().model_dump_json(), headers=headers
    )
    assert response.status_code == 500
    assert "internal server error" in response.json()["detail"]
    assert (_count(db, ReceivedReport), _count(db, Device), _count(db, Observation)) == (0, 0, 0)
    monkeypatch.undo()
    assert client.post(REPORTS_PATH, content=make_report().model_dump_json(), headers=headers).status_code == 201


def test_enroll_heartbeat_and_health(client: TestClient, db: Engine) -> None:
    from server.db import writing
    from server.services.enrolment import create_token

    with writing(db) as session:
        token, _ = create_token(session, "UBND", days=1, actor="test")
    response = client.post(ENROLL_PATH, json={"token": token, "machine_id": "m-9", "hostname": "pc-9"})
    assert response.status_code == 201
    key = response.json()["agent_key"]
    assert response.json()["unit_code"] == "UBND"
    assert client.post(HEARTBEAT_PATH, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert client.post(HEARTBEAT_PATH, headers={"Authorization": "Bearer kk_x_y"}).status_code == 401
    bad = client.post(ENROLL_PATH, json={"token": "kket_wrong-token", "machine_id": "m-9"})
    assert bad.status_code == 403 and "unknown" in bad.json()["detail"]
    not_a_key = client.post(ENROLL_PATH, json={"token": token, "machine_id": "m-9", "public_key": "AAAA"})
    assert not_a_key.status_code == 422 and "32 bytes" in not_a_key.json()["detail"]
    invalid = client.post(ENROLL_PATH, json={"token": "short"})
    assert invalid.status_code == 422 and "machine_id" in invalid.json()["detail"]
    assert client.get(HEALTH_PATH).json()["status"] == "ok"
