"""Enrolment tokens and agents from the console: create, list and revoke, each within the user's reach."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient

from server.config import Settings
from server.main import create_app
from server.models import AuditLog, EnrolmentToken, table_of
from tests.server.console.conftest import csrf_of, sign_in
from tests.server.factories import make_report

#: 17:30 UTC is 00:30 on the next day in the district: local times on the pages must say so.
NOW = datetime(2026, 12, 3, 17, 30, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def frozen(seeded_db: str) -> Iterator[None]:
    """The clock stopped at ``NOW`` once the (shared, session-wide) seeded district exists."""
    with time_machine.travel(NOW, tick=False):
        yield


def _shown_token(text: str) -> str:
    found = re.search(r'<code class="secret" id="new-token">(kket_[^<]+)</code>', text)
    assert found, "no token shown"
    return found.group(1)


def _create(client: TestClient, unit: str, days: str = "2", max_uses: str = "") -> str:
    page = client.get("/tokens")
    answer = client.post("/tokens", data={"csrf": csrf_of(page.text), "unit": unit, "days": days,
                                          "max_uses": max_uses})
    assert answer.status_code == 303 and answer.headers["location"] == "/tokens", answer.text
    return _shown_token(client.get("/tokens").text)


def _row(text: str, marker: str) -> str:
    found = re.search(rf'<tr[^>]*id="{marker}">(.*?)</tr>', text, re.S)
    assert found, f"no row {marker}"
    return found.group(1)


def _enrol(client: TestClient, token: str, machine: str) -> str:
    answer = client.post("/api/v1/enroll", json={"token": token, "machine_id": machine, "hostname": machine})
    assert answer.status_code == 201, answer.text
    key: str = answer.json()["agent_key"]
    return key


def _report(client: TestClient, key: str, machine: str) -> int:
    body = make_report(machine, serial=f"SN-{machine}", hostname=machine,
                       collected_at=NOW - timedelta(minutes=5)).model_dump_json()
    answer = client.post("/api/v1/reports", content=body,
                         headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    return int(answer.status_code)


def _audit(client: TestClient, action: str) -> list[tuple[str, str]]:
    log = table_of(AuditLog).c
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(log.actor, log.detail).where(log.action == action).order_by(log.id))
        return [(str(actor), str(detail)) for actor, detail in rows]


def test_admin_creates_a_token_shown_once_sees_its_uses_and_revokes_it(admin: TestClient) -> None:
    token = _create(admin, "X01", days="2", max_uses="2")
    listing = admin.get("/tokens")
    assert token not in listing.text  # shown once
    engine = admin.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        row = conn.execute(sa.select(table_of(EnrolmentToken)).order_by(table_of(EnrolmentToken).c.id.desc())).first()
    assert row is not None and token not in row.token_hash  # stored hashed
    line = _row(listing.text, f"token-{row.id}")
    assert "Còn hiệu lực" in line and "0 / 2" in line
    assert "06/12/2026 00:30" in line  # local (Asia/Ho_Chi_Minh) time, two days on
    _enrol(admin, token, "pc-token-1")
    assert "1 / 2" in _row(admin.get("/tokens").text, f"token-{row.id}")
    revoked = admin.post(f"/tokens/{row.id}/revoke", data={"csrf": csrf_of(listing.text)})
    assert revoked.status_code == 303
    assert "Đã thu hồi" in _row(admin.get("/tokens").text, f"token-{row.id}")
    assert admin.post("/api/v1/enroll", json={"token": token, "machine_id": "pc-token-2"}).status_code == 403
    assert [actor for actor, _ in _audit(admin, "token.create")][-1] == "admin"
    assert [actor for actor, _ in _audit(admin, "token.revoke")] == ["admin"]
    english = admin.get("/tokens?lang=en").text
    assert "Revoked" in _row(english, f"token-{row.id}") and "12/06/2026" not in english


@pytest.mark.parametrize(("days", "max_uses"), [("0", ""), ("-3", ""), ("abc", ""), ("", ""), ("2", "0"),
                                                 ("99999", ""), ("٣", "")])
def test_days_and_uses_out_of_range_are_refused_in_the_form(admin: TestClient, days: str, max_uses: str) -> None:
    page = admin.get("/tokens")
    answer = admin.post("/tokens", data={"csrf": csrf_of(page.text), "unit": "X01", "days": days,
                                         "max_uses": max_uses})
    assert answer.status_code == 400
    assert 'class="field-error"' in answer.text and "kket_" not in answer.text
    assert _audit(admin, "token.create") == []


def test_an_officer_manages_only_the_tokens_of_their_unit(admin: TestClient, console_settings: Settings) -> None:
    _create(admin, "X01")
    engine = admin.app.state.engine  # type: ignore[attr-defined]
    tokens = table_of(EnrolmentToken).c
    with engine.connect() as conn:
        other = conn.execute(sa.select(sa.func.max(tokens.id))).scalar_one()
    with TestClient(create_app(console_settings), follow_redirects=False) as officer:
        assert sign_in(officer, "pb") == 303
        page = officer.get("/tokens")
        assert page.status_code == 200 and f'id="token-{other}"' not in page.text
        csrf = csrf_of(page.text)
        refused = officer.post("/tokens", data={"csrf": csrf, "unit": "X01", "days": "3", "max_uses": ""})
        assert refused.status_code == 400 and "kket_" not in refused.text
        assert officer.post(f"/tokens/{other}/revoke", data={"csrf": csrf}).status_code == 404
        assert officer.get("/tokens?unit=X01").status_code == 403
        mine = _create(officer, "PB01")
        assert mine.startswith("kket_")
        assert officer.post("/tokens", data={"csrf": "forged", "unit": "PB01", "days": "3"}).status_code == 403
    with engine.connect() as conn:
        assert conn.execute(sa.select(tokens.revoked_at).where(tokens.id == other)).scalar_one() is None
    assert [actor for actor, _ in _audit(admin, "token.create")] == ["admin", "pb"]


def test_a_viewer_has_no_token_or_agent_page_and_every_post_is_refused(commune_viewer: TestClient) -> None:
    csrf = csrf_of(commune_viewer.get("/").text)
    assert 'href="/tokens"' not in commune_viewer.get("/").text
    for path in ("/tokens", "/agents"):
        assert commune_viewer.get(path).status_code == 403
    for path in ("/tokens", "/tokens/1/revoke", "/agents/00000000-0000-0000-0000-000000000000/revoke"):
        assert commune_viewer.post(path, data={"csrf": csrf, "unit": "X01", "days": "3"}).status_code == 403


def test_agents_listed_in_scope_and_a_revoked_key_must_enrol_again(admin: TestClient,
                                                                   console_settings: Settings) -> None:
    pb_key = _enrol(admin, _create(admin, "PB01"), "pc-pb-agent")
    x_key = _enrol(admin, _create(admin, "X01"), "pc-x-agent")
    assert _report(admin, pb_key, "pc-pb-agent") // 100 == 2
    assert _report(admin, x_key, "pc-x-agent") // 100 == 2
    listing = admin.get("/agents").text
    pb_id, x_id = (key.split("_")[1] for key in (pb_key, x_key))
    line = _row(listing, f"agent-{pb_id}")
    assert "pc-pb-agent" in line and "0.1.0" in line and "04/12/2026 00:30" in line  # last seen, local
    assert re.search(r'<td class="num">1</td>', line) and "Đang dùng" in line
    with TestClient(create_app(console_settings), follow_redirects=False) as officer:
        assert sign_in(officer, "pb") == 303
        page = officer.get("/agents")
        assert f'id="agent-{pb_id}"' in page.text and f'id="agent-{x_id}"' not in page.text
        csrf = csrf_of(page.text)
        assert officer.post(f"/agents/{x_id}/revoke", data={"csrf": csrf}).status_code == 404
        assert officer.post("/agents/not-an-id/revoke", data={"csrf": csrf}).status_code == 404
        assert officer.post(f"/agents/{pb_id}/revoke", data={"csrf": "forged"}).status_code == 403
        done = officer.post(f"/agents/{pb_id}/revoke", data={"csrf": csrf})
        assert done.status_code == 303
        assert "Đã thu hồi" in _row(officer.get(done.headers["location"]).text, f"agent-{pb_id}")
        assert officer.post(f"/agents/{pb_id}/revoke", data={"csrf": csrf}).status_code == 404  # already
    assert _report(admin, pb_key, "pc-pb-agent") == 401  # told to enrol again
    assert _report(admin, x_key, "pc-x-agent") // 100 == 2
    revocations = _audit(admin, "agent.revoke")
    assert len(revocations) == 1 and revocations[0][0] == "pb" and pb_id in revocations[0][1]
