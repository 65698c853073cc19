"""Personal API tokens on the console: made on one's own page, shown once, used by another system within the
user's scope, revoked by the owner or an admin (never by another user), every step audited."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient
from sqlmodel import select

from server.config import Settings
from server.db import reading
from server.main import create_app
from server.models import ApiToken, AuditLog
from tests.server.console.conftest import csrf_of, sign_in


def _shown_token(text: str) -> str:
    found = re.search(r'<code class="secret" id="new-api-token">([^<]+)</code>', text)
    assert found, "no token shown"
    return found.group(1)


def _create(client: TestClient, **fields: str) -> httpx.Response:
    page = client.get("/account/api-tokens")
    assert page.status_code == 200
    return client.post("/account/api-tokens", data={"csrf": csrf_of(page.text), **fields})


def test_a_commune_officers_token_reads_only_their_commune(admin: TestClient, console_settings: Settings) -> None:
    """An admin creates a commune officer, who makes a token on their page: the read API keeps them in X02."""
    page = admin.get("/users")
    admin.post("/users", data={"csrf": csrf_of(page.text), "username": "xa2", "role": "officer", "unit": "X02"})
    password = re.search(r'<code class="secret">([^<]+)</code>', admin.get("/users").text)
    assert password
    other = re.search(r'href="/devices/(\d+)', admin.get("/devices?unit=X01").text)
    assert other is not None
    with TestClient(create_app(console_settings), follow_redirects=False) as officer:
        assert sign_in(officer, "xa2", password.group(1)) == 303
        made = _create(officer, name="Bảng điều khiển của tỉnh", days="30")
        assert made.status_code == 303 and made.headers["location"] == "/account/api-tokens"
        secret = _shown_token(officer.get("/account/api-tokens").text)
        listed = officer.get("/account/api-tokens").text
        assert secret not in listed and "Bảng điều khiển của tỉnh" in listed  # shown once, named
        headers = {"Authorization": f"Bearer {secret}"}
        officer.cookies.clear()
        own = officer.get("/api/v1/devices?size=1000", headers=headers).json()
        assert own["unit"] == "X02" and own["count"] > 0
        assert {row["unit"] for row in own["data"]} <= {"X02"} | {u["code"] for u in officer.get(
            "/api/v1/units?size=1000", headers=headers).json()["data"]}
        assert officer.get("/api/v1/devices?unit=X01", headers=headers).status_code == 403
        assert officer.get(f"/api/v1/devices/{other.group(1)}", headers=headers).status_code == 404
        assert officer.get("/api/v1/figures?unit=X01", headers=headers).status_code == 403
        assert officer.get("/api/v1/figures", headers=headers).json()["unit"] == "X02"


def test_tokens_are_revoked_by_their_owner_or_an_admin_only(admin: TestClient, console_settings: Settings) -> None:
    with TestClient(create_app(console_settings), follow_redirects=False) as officer:
        assert sign_in(officer, "pb") == 303
        assert _create(officer, name="script", days="7").status_code == 303
        secret = _shown_token(officer.get("/account/api-tokens").text)
        with reading(officer.app.state.engine) as s:  # type: ignore[attr-defined]
            token = s.exec(select(ApiToken)).one()
        assert officer.get("/api/v1/units", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        # The viewer of another unit cannot revoke it: it reads as unknown.
        with TestClient(create_app(console_settings), follow_redirects=False) as viewer:
            assert sign_in(viewer, "xa") == 303
            refused = viewer.post(f"/account/api-tokens/{token.id}/revoke",
                                  data={"csrf": csrf_of(viewer.get("/account").text)})
            assert refused.status_code == 404
            assert "script" not in viewer.get("/account/api-tokens").text  # nor is it listed to them
        # The admin sees it and revokes it; its next use is refused and audited.
        assert "script" in admin.get("/account/api-tokens").text
        done = admin.post(f"/account/api-tokens/{token.id}/revoke", data={"csrf": csrf_of(admin.get("/").text)})
        assert done.status_code == 303
        assert officer.get("/api/v1/units", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
        with reading(officer.app.state.engine) as s:  # type: ignore[attr-defined]
            actions = [(e.actor, e.action) for e in s.exec(select(AuditLog).where(
                AuditLog.action.startswith("apitoken.")))]  # type: ignore[attr-defined]
        assert actions == [("pb", "apitoken.create"), ("admin", "apitoken.revoke"), ("pb", "apitoken.revoked_use")]
        assert "Thu hồi mã truy cập API" in admin.get("/audit").text  # the audit log names the action


def test_the_form_says_what_is_wrong_and_only_admins_make_tokens_for_others(commune_viewer: TestClient) -> None:
    bad = _create(commune_viewer, name="", days="9999")
    assert bad.status_code == 400
    assert 'id="err-days"' in bad.text and 'id="err-name"' in bad.text
    assert "new-api-token" not in bad.text
    other = _create(commune_viewer, name="for the admin", days="7", user="admin")
    assert other.status_code == 400 and "new-api-token" not in other.text
    english = commune_viewer.get("/account/api-tokens?lang=en").text
    assert "My API tokens" in english
