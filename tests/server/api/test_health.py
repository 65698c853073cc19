"""``/api/v1/health``: 200 while the database answers, 503 with the reason once it does not."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from server.config import Settings
from server.main import create_app
from shared.protocol import HEALTH_PATH
from tests.server.conftest import new_postgres_database


def test_health_says_the_database_answers(client: TestClient) -> None:
    answer = client.get(HEALTH_PATH)
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok" and answer.json()["database"] == "ok"


def test_a_sqlite_file_that_is_no_longer_a_database_gives_503(tmp_path: Path) -> None:
    app = create_app(Settings(environment="test", data_dir=tmp_path))
    with TestClient(app) as client:
        assert client.get(HEALTH_PATH).status_code == 200
        app.state.engine.dispose()
        for suffix in ("-wal", "-shm"):
            (tmp_path / f"kiemke.db{suffix}").unlink(missing_ok=True)
        (tmp_path / "kiemke.db").write_bytes(b"not a database at all " * 400)
        answer = client.get(HEALTH_PATH)
    app.state.engine.dispose()
    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"
    assert "not a database" in answer.json()["database"]


def test_a_dropped_postgresql_database_gives_503(tmp_path: Path) -> None:
    with new_postgres_database() as url:
        app = create_app(Settings(environment="test", data_dir=tmp_path, database_url=url))
        with TestClient(app) as client:
            assert client.get(HEALTH_PATH).json()["database"] == "ok"
            admin = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE "{sa.engine.make_url(url).database}" WITH (FORCE)')
            admin.dispose()
            answer = client.get(HEALTH_PATH)
        app.state.engine.dispose()
    assert answer.status_code == 503
    assert "does not exist" in answer.json()["database"]
