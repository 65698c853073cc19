"""``/metrics``: its own token, per-process delivery counters, global figures read from the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from server.config import Settings
from server.db import make_engine
from server.main import create_app
from shared.protocol import REPORTS_PATH
from tests.server.factories import enrolled_agent, make_report, make_unit

TOKEN = "metrics-token-for-tests"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def metered(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Engine]]:
    """The app with a metrics token, and an engine on its database."""
    settings = Settings(environment="test", data_dir=tmp_path, database_url=database_url, metrics_token=TOKEN)
    app = create_app(settings)
    engine = make_engine(database_url)
    with TestClient(app) as client:
        yield client, engine
    engine.dispose()
    app.state.engine.dispose()


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics`` by (name, labels)."""
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def test_no_token_configured_means_no_endpoint(client: TestClient) -> None:
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


def test_a_missing_or_wrong_token_is_refused(metered: tuple[TestClient, Engine]) -> None:
    client, _ = metered
    assert client.get("/metrics").status_code == 401
    answer = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert answer.status_code == 401 and "kiemke_" not in answer.text


def test_deliveries_are_counted_by_outcome_and_agents_by_last_day(metered: tuple[TestClient, Engine]) -> None:
    client, engine = metered
    with time_machine.travel(NOW, tick=False) as traveller:
        make_unit(engine)
        _, key = enrolled_agent(engine)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        body = make_report(collected_at=NOW - timedelta(minutes=5)).model_dump_json()
        assert client.post(REPORTS_PATH, content=body, headers=headers).status_code == 201
        assert client.post(REPORTS_PATH, content=body, headers=headers).status_code == 200
        assert client.post(REPORTS_PATH, content=b'{"not": "a report"}', headers=headers).status_code == 422
        assert client.post(REPORTS_PATH, content=body, headers={"Authorization": "Bearer kk_x_y"}).status_code == 401
        client.get("/api/v1/health")  # not a delivery: not counted

        values = scrape(client)
        assert values[("kiemke_reports_total", (("outcome", "accepted"),))] == 1
        assert values[("kiemke_reports_total", (("outcome", "duplicate"),))] == 1
        assert values[("kiemke_reports_total", (("outcome", "refused"),))] == 2
        assert values[("kiemke_reports_total", (("outcome", "failed"),))] == 0
        assert values[("kiemke_ingest_seconds_count", ())] == 4
        assert values[("kiemke_agents_seen_last_day", ())] == 1
        assert values[("kiemke_agents_enrolled", ())] == 1
        assert values[("kiemke_devices", (("status", "in_use"),))] == 1
        assert values[("kiemke_kept_reports", ())] == 0

        traveller.move_to(NOW + timedelta(hours=25))
        later = scrape(client)
        assert later[("kiemke_agents_seen_last_day", ())] == 0
        assert later[("kiemke_agents_enrolled", ())] == 1
