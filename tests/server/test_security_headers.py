"""Every answer carries the security headers: API JSON, errors, downloads, console pages, even a 500."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server.config import Settings
from server.main import SECURITY_HEADERS, create_app
from tests.server.world import KEPT_AS_OF, seed, session_cookie


def _hardened(headers: object) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value, (name, headers)  # type: ignore[index]


def test_api_answers_and_downloads_are_not_sniffed_or_stored(client: TestClient, engine: Engine) -> None:
    world = seed(engine)
    admin = {"Cookie": f"kiemke_session={session_cookie(client, 'admin')}"}
    answers = [
        client.get("/api/v1/health"),
        client.post("/api/v1/heartbeat"),  # 401
        client.post("/api/v1/heartbeat", headers={"Authorization": f"Bearer {world.agent_key}"}),
        client.post("/api/v1/enroll", json={"token": "x"}),  # 422
        client.get("/api/v1/no-such-route"),  # 404
        client.get(f"/api/v1/report?format=docx&as_of={KEPT_AS_OF}", headers=admin),
        client.get(f"/api/v1/report/kept/{world.kept_id}?format=json", headers=admin),
        client.get("/openapi.json"),
    ]
    assert [a.status_code for a in answers] == [200, 401, 200, 422, 404, 200, 200, 200]
    assert answers[5].headers["content-type"].startswith("application/vnd.openxmlformats")
    for answer in answers:
        _hardened(answer.headers)


def test_console_pages_keep_their_own_policy(client: TestClient, engine: Engine) -> None:
    seed(engine)
    page = client.get("/login")
    _hardened(page.headers)
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    style = client.get("/static/console.css")
    assert style.status_code == 200
    assert style.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" not in style.headers.get("Cache-Control", "")  # public and unchanging: cacheable


def test_a_server_error_answer_is_hardened_too(settings: Settings) -> None:
    app = create_app(settings)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        answer = test_client.get("/broken")
    app.state.engine.dispose()
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal server error: see the server log"}
    _hardened(answer.headers)
