"""Reports through the real API: the devices of stored reports are evaluated after the commit, off the request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server.alerts.arrival import AlertQueue
from server.alerts.evaluate import evaluate_all
from server.config import Settings
from server.db import reading
from server.main import create_app
from server.models import Observation
from server.services.policy import Policy
from tests.server.alerts.world import NOW, alerts, report
from tests.server.factories import enrolled_agent

pytestmark = pytest.mark.dates
OFF = [{"name": "Windows Defender", "enabled": False, "source": "security_center"}]


@pytest.fixture
def api(district: Engine, settings: Settings, frozen: time_machine.Coordinates) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def _post(client: TestClient, key: str, **kw: object) -> int:
    body = report("pc-api", **kw).model_dump_json()  # type: ignore[arg-type]
    answer = client.post("/api/v1/reports", content=body,
                         headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    assert answer.status_code in (200, 201), answer.text
    return answer.status_code


def test_a_report_opens_and_the_next_resolves_through_the_api(district: Engine, api: TestClient,
                                                              frozen: time_machine.Coordinates) -> None:
    _, key = enrolled_agent(district, "XA1", "pc-api", at=NOW - timedelta(days=1))
    queue: AlertQueue = api.app.state.alerts  # type: ignore[attr-defined]
    queue.stop()  # evaluate in this thread, so the test sees each step
    assert _post(api, key, antivirus=OFF) == 201
    queue.drain()
    [alert] = alerts(district, rule="antivirus_disabled")
    assert alert["state"] == "open"
    frozen.move_to(NOW + timedelta(hours=1))
    assert _post(api, key, at=NOW + timedelta(hours=1)) == 201
    queue.drain()
    assert [a["state"] for a in alerts(district)] == ["resolved"]


def test_a_report_of_the_same_facts_ends_a_silence(district: Engine, api: TestClient,
                                                   frozen: time_machine.Coordinates) -> None:
    _, key = enrolled_agent(district, "XA1", "pc-api", at=NOW - timedelta(days=1))
    queue: AlertQueue = api.app.state.alerts  # type: ignore[attr-defined]
    queue.stop()
    assert _post(api, key) == 201
    assert queue.drain().opened == []
    later = NOW + timedelta(days=40)
    frozen.move_to(later)
    evaluate_all(district, Policy(), ZoneInfo("Asia/Ho_Chi_Minh"))
    assert [(a["rule"], a["state"]) for a in alerts(district)] == [("not_seen", "open")]
    assert _post(api, key, at=later) == 201  # the same facts: no new observation
    with reading(district) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Observation)).scalar_one() == 1
    assert len(queue.drain().resolved) == 1
    assert [(a["rule"], a["state"]) for a in alerts(district)] == [("not_seen", "resolved")]
    assert _post(api, key, at=later + timedelta(minutes=5)) == 201
    assert queue.drain().resolved == []  # nothing silent any more: not even evaluated


def test_the_worker_thread_evaluates_after_the_response(district: Engine, api: TestClient) -> None:
    _, key = enrolled_agent(district, "XA1", "pc-api", at=NOW - timedelta(days=1))
    queue: AlertQueue = api.app.state.alerts  # type: ignore[attr-defined]
    evaluated = threading.Event()
    original = queue.drain

    def drain_and_tell() -> object:
        changes = original()
        if changes.opened:
            evaluated.set()
        return changes

    queue.drain = drain_and_tell  # type: ignore[method-assign]
    assert _post(api, key, antivirus=OFF) == 201
    assert evaluated.wait(timeout=60), "the worker never evaluated the device"
    assert [a["rule"] for a in alerts(district)] == ["antivirus_disabled"]


def test_a_refused_or_duplicate_report_queues_nothing(district: Engine, api: TestClient) -> None:
    _, key = enrolled_agent(district, "XA1", "pc-api", at=NOW - timedelta(days=1))
    queue: AlertQueue = api.app.state.alerts  # type: ignore[attr-defined]
    queue.stop()
    body = report("pc-api", antivirus=OFF).model_dump_json()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    assert api.post("/api/v1/reports", content=body, headers=headers).status_code == 201
    queue.drain()
    assert api.post("/api/v1/reports", content=body, headers=headers).status_code == 200  # duplicate
    assert queue.drain().opened == [] and len(alerts(district)) == 1
    assert api.post("/api/v1/reports", content=body, headers={**headers, "Authorization": "Bearer nope"}
                    ).status_code == 401
    assert queue.drain().opened == []
