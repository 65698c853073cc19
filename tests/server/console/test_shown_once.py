"""The forms that make a secret answer with a redirect (Post/Redirect/Get): the page that follows shows the secret
once, a reload shows the list without it and makes nothing, and the secret never travels in a URL or a log."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient

from server.config import Settings
from server.console.shown_once import COOKIE
from server.db import writing
from server.main import create_app
from server.models import ApiToken, AuditLog, EnrolmentToken, ShownSecret, User, table_of
from server.services.shown_secrets import LIFETIME, keep_secret, take_secret
from tests.server.console.conftest import csrf_of, sign_in

NOW = datetime(2026, 12, 3, 17, 30, tzinfo=timezone.utc)
SECRET = re.compile(r'<code class="secret"[^>]*>([^<]+)</code>')


@pytest.fixture(autouse=True)
def frozen(seeded_db: str) -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _count(client: TestClient, table: type, **where: str) -> int:
    t = table_of(table)
    query = sa.select(sa.func.count()).select_from(t).where(*(t.c[k] == v for k, v in where.items()))
    with client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(query).scalar_one())


def _shown(text: str) -> list[str]:
    return SECRET.findall(text)


#: (page, how to post its form, audit action of one creation, table and filter counting what was made)
Post = Callable[[TestClient, str], httpx.Response]
FORMS: dict[str, tuple[str, Post, str, type]] = {
    "api token": ("/account/api-tokens",
                  lambda c, csrf: c.post("/account/api-tokens", data={"csrf": csrf, "name": "nightly", "days": "7"}),
                  "apitoken.create", ApiToken),
    "enrolment token": ("/tokens",
                        lambda c, csrf: c.post("/tokens", data={"csrf": csrf, "unit": "X01", "days": "2"}),
                        "token.create", EnrolmentToken),
    "new user": ("/users",
                 lambda c, csrf: c.post("/users", data={"csrf": csrf, "username": "xa2", "role": "viewer",
                                                        "unit": "X01"}),
                 "user.create", User),
    "password reset": ("/users", lambda c, csrf: c.post("/users/xa/reset-password", data={"csrf": csrf}),
                       "user.password_reset", User),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_secret_is_shown_once_and_a_reload_makes_nothing(form: str, admin: TestClient,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    page, post, action, table = FORMS[form]
    before, audited = _count(admin, table), _count(admin, AuditLog, action=action)
    with caplog.at_level(logging.DEBUG):
        answer = post(admin, csrf_of(admin.get(page).text))
        assert answer.status_code == 303 and answer.headers["location"] == page
        assert answer.cookies.get(COOKIE) and "secret" not in answer.text
        shown_page = admin.get(page)
        assert shown_page.status_code == 200
        secrets_shown = _shown(shown_page.text)
        assert len(secrets_shown) == 1
        secret = secrets_shown[0]
        assert COOKIE not in admin.cookies  # the page cleared its reference
        for _ in range(2):  # reloads: the list, without the secret, and nothing more made
            again = admin.get(page)
            assert again.status_code == 200 and _shown(again.text) == [] and secret not in again.text
    assert secret not in answer.headers["location"] and secret not in str(answer.headers)
    assert secret not in caplog.text
    assert _count(admin, table) == before + (0 if form == "password reset" else 1)
    assert _count(admin, AuditLog, action=action) == audited + 1  # one creation, audited once
    assert _count(admin, ShownSecret) == 0


def test_the_secret_is_kept_sealed_and_only_for_its_maker_and_page(admin: TestClient, console_settings: Settings,
                                                                   frozen: time_machine.Coordinates) -> None:
    answer = admin.post("/account/api-tokens", data={"csrf": csrf_of(admin.get("/").text), "name": "n", "days": "1"})
    reference = answer.cookies[COOKIE]
    with admin.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        sealed = conn.execute(sa.select(table_of(ShownSecret).c.sealed)).scalar_one()
    assert b"kkr_" not in bytes(sealed) and reference.encode() not in bytes(sealed)
    # Another user holding the reference sees nothing (and does not spend it); nor does another page.
    with TestClient(create_app(console_settings), follow_redirects=False) as officer:
        assert sign_in(officer, "pb") == 303
        officer.cookies.set(COOKIE, reference, path="/account/api-tokens")
        assert _shown(officer.get("/account/api-tokens").text) == []
    admin.cookies.set(COOKIE, reference, path="/tokens")
    assert _shown(admin.get("/tokens").text) == []
    assert _count(admin, ShownSecret) == 1
    # Unseen for longer than its lifetime: gone.
    frozen.shift(LIFETIME + timedelta(seconds=1))
    assert _shown(admin.get("/account/api-tokens").text) == []
    assert _count(admin, ApiToken) == 1


def test_a_secret_is_taken_once(admin: TestClient) -> None:
    engine = admin.app.state.engine  # type: ignore[attr-defined]
    u = table_of(User).c
    with writing(engine) as session:
        ids = {r.username: r.id for r in session.execute(sa.select(u.username, u.id))}
        me, other = ids["admin"], ids["pb"]
        reference = keep_secret(session, user_id=me, purpose="password", values={"secret": "s3"}, now=NOW)
        assert take_secret(session, reference, user_id=other, purpose="password", now=NOW) is None
        assert take_secret(session, reference, user_id=me, purpose="api_token", now=NOW) is None
        assert take_secret(session, reference, user_id=me, purpose="password", now=NOW) == {"secret": "s3"}
        assert take_secret(session, reference, user_id=me, purpose="password", now=NOW) is None
        assert take_secret(session, "forged", user_id=me, purpose="password", now=NOW) is None


@pytest.mark.parametrize("form", ["api token", "enrolment token"])
def test_a_token_whose_copy_cannot_be_kept_is_not_made(form: str, admin: TestClient,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The token and its shown-once copy are one transaction: a token nobody could ever see is never left."""
    page, post, action, table = FORMS[form]
    before, audited = _count(admin, table), _count(admin, AuditLog, action=action)
    csrf = csrf_of(admin.get(page).text)

    def full_disk(*args: object, **kwargs: object) -> str:
        raise sa.exc.OperationalError("INSERT INTO shown_secret", {}, Exception("database or disk is full"))

    monkeypatch.setattr("server.console.shown_once.keep_secret", full_disk)
    with pytest.raises(sa.exc.OperationalError):
        post(admin, csrf)
    assert _count(admin, table) == before and _count(admin, AuditLog, action=action) == audited
    assert _count(admin, ShownSecret) == 0
