"""Users from the console: an admin creates, disables and resets; everyone changes their own password."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from server.config import Settings
from server.console.auth import check_login
from server.main import create_app
from tests.server.console.conftest import PASSWORDS, csrf_of, sign_in


def _shown_password(text: str) -> str:
    found = re.search(r'<code class="secret">([^<]+)</code>', text)
    assert found, "no password shown"
    return found.group(1)


def test_admin_creates_a_commune_officer_who_sees_only_their_commune(admin: TestClient,
                                                                     console_settings: Settings) -> None:
    page = admin.get("/users")
    created = admin.post("/users", data={"csrf": csrf_of(page.text), "username": "xa2", "role": "officer",
                                         "unit": "X02"})
    assert created.status_code == 303 and created.headers["location"] == "/users"
    password = _shown_password(admin.get("/users").text)
    assert password not in admin.get("/users").text  # shown once
    with TestClient(create_app(console_settings), follow_redirects=False) as officer:
        assert sign_in(officer, "xa2", password) == 303
        assert officer.get("/devices?unit=X01").status_code == 403
        assert officer.get("/devices.xlsx?unit=X01").status_code == 403
        other = re.search(r'href="/devices/(\d+)', admin.get("/devices?unit=X01").text)
        assert other is not None
        assert officer.get(f"/devices/{other.group(1)}").status_code == 404
        assert officer.get("/users").status_code == 403
        assert officer.post(f"/devices/{other.group(1)}/edit",
                            data={"csrf": csrf_of(officer.get("/").text), "name": "x"}).status_code == 404
    refused = admin.post("/users", data={"csrf": csrf_of(page.text), "username": "xa2", "role": "officer"})
    assert refused.status_code == 400 and "already exists" in refused.text


def test_a_disabled_users_open_session_is_refused_at_once(admin: TestClient, console_settings: Settings) -> None:
    with TestClient(create_app(console_settings), follow_redirects=False) as viewer:
        assert sign_in(viewer, "xa") == 303
        assert viewer.get("/").status_code == 200
        token = csrf_of(admin.get("/users").text)
        assert admin.post("/users/xa/disable", data={"csrf": token}).status_code == 303
        assert viewer.get("/").status_code == 303  # to the sign-in page
        assert sign_in(viewer, "xa") == 401
        assert admin.post("/users/xa/enable", data={"csrf": token}).status_code == 303
        assert sign_in(viewer, "xa") == 303
        reset = admin.post("/users/xa/reset-password", data={"csrf": token})
        assert reset.status_code == 303 and "code" not in reset.text
        new = _shown_password(admin.get(reset.headers["location"]).text)
        assert viewer.get("/").status_code == 303  # the reset ended the session
        assert sign_in(viewer, "xa", new) == 303
    assert admin.post("/users/admin/disable", data={"csrf": token}).status_code == 400  # not oneself


def test_every_user_changes_their_own_password(commune_viewer: TestClient) -> None:
    token = csrf_of(commune_viewer.get("/account").text)
    wrong = commune_viewer.post("/account/password", data={"csrf": token, "current": "nope", "new": "a-new-password-1",
                                                           "again": "a-new-password-1"})
    assert wrong.status_code == 400
    changed = commune_viewer.post("/account/password", data={
        "csrf": token, "current": PASSWORDS["xa"], "new": "a-new-password-1", "again": "a-new-password-1"})
    assert changed.status_code == 303
    assert "Đã đổi mật khẩu" in commune_viewer.get(changed.headers["location"]).text  # this session goes on
    engine = commune_viewer.app.state.engine  # type: ignore[attr-defined]
    assert check_login(engine, "xa", "a-new-password-1") is not None
    assert check_login(engine, "xa", PASSWORDS["xa"]) is None


def test_a_viewer_may_not_manage_users(commune_viewer: TestClient) -> None:
    token = csrf_of(commune_viewer.get("/").text)
    assert commune_viewer.get("/users").status_code == 403
    for path in ("/users", "/users/admin/disable", "/users/admin/reset-password"):
        assert commune_viewer.post(path, data={"csrf": token, "username": "x"}).status_code == 403, path
