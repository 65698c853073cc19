"""Passwords, signed tokens, throttling, the signing key and the demo's one-time link."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.config import Settings
from server.console import auth
from server.console.i18n import EN, VI, pick_lang
from server.db import make_engine
from server.main import create_app


def test_password_hash_round_trip() -> None:
    stored = auth.hash_password("correct horse battery")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert auth.verify_password("correct horse battery", stored)
    assert not auth.verify_password("correct horse batterx", stored)
    assert auth.hash_password("correct horse battery") != stored  # salted
    assert not auth.verify_password("anything", "md5$garbage")
    assert not auth.verify_password("anything", "scrypt$x$y")


def test_password_rules() -> None:
    assert auth.password_problem("short") is not None
    assert auth.password_problem(" spaces around ") is not None
    assert auth.password_problem("long enough pass") is None


def test_tokens_are_bound_to_key_purpose_and_age() -> None:
    key = b"k" * 32
    token = auth.sign(key, "session", {"u": 1}, now=1000)
    assert auth.unsign(key, "session", token, 60, now=1030) == {"u": 1, "t": 1000}
    assert auth.unsign(key, "session", token, 60, now=1100) is None  # expired
    assert auth.unsign(key, "link", token, 60, now=1030) is None  # another purpose
    assert auth.unsign(b"x" * 32, "session", token, 60, now=1030) is None  # another key
    body, _, mac = token.partition(".")
    assert auth.unsign(key, "session", body + "." + mac[:-1] + ("A" if mac[-1] != "A" else "B"), 60, now=1030) is None
    assert auth.unsign(key, "session", "not-a-token", 60) is None


def test_signing_key_from_the_secret_or_a_private_file(tmp_path: Path) -> None:
    configured = Settings(data_dir=tmp_path, secret_key="a long configured secret")
    assert auth.signing_key(configured) == auth.signing_key(configured)
    assert not (tmp_path / "console.key").exists()
    default = Settings(data_dir=tmp_path / "dev")
    key = auth.signing_key(default)
    path = tmp_path / "dev" / "console.key"
    assert path.read_bytes() == key and len(key) == 32
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert auth.signing_key(default) != auth.signing_key(configured)


def test_demo_link_signs_in_once_from_this_machine(seeded_db: str, tmp_path: Path) -> None:
    settings = Settings(environment="development", data_dir=tmp_path, database_url=seeded_db)
    made = auth.demo_sign_in("http://127.0.0.1:8000/", settings)
    assert made.password is None  # the seeded "admin" exists already: no new password
    path = made.url.removeprefix("http://127.0.0.1:8000")
    app = create_app(settings)
    with TestClient(app, follow_redirects=False, client=("127.0.0.1", 40000)) as local:
        first = local.get(path)
        assert first.status_code == 303 and first.headers["location"] == "/"
        assert local.get("/").status_code == 200
        local.cookies.clear()
        assert local.get(path).status_code == 400  # spent
    with TestClient(app, follow_redirects=False, client=("192.0.2.7", 40000)) as remote:
        fresh = auth.demo_sign_in("http://127.0.0.1:8000", settings).url.removeprefix("http://127.0.0.1:8000")
        assert remote.get(fresh).status_code == 400  # not from this machine
    app.state.engine.dispose()


def test_demo_creates_its_admin_when_nobody_exists(tmp_path: Path) -> None:
    settings = Settings(environment="development", data_dir=tmp_path)
    made = auth.demo_sign_in("http://127.0.0.1:8000", settings)
    assert made.username == "admin" and made.password and len(made.password) >= auth.MIN_PASSWORD
    engine = make_engine(settings.url)
    assert auth.check_login(engine, "admin", made.password) is not None
    assert auth.demo_sign_in("http://127.0.0.1:8000", settings).password is None
    engine.dispose()
    with pytest.raises(RuntimeError):
        key = "kiemke-test-" + "0123456789abcdef" * 2
        auth.demo_sign_in("http://x", Settings(environment="production", secret_key=key, data_dir=tmp_path))


def test_labels_have_the_same_keys_and_placeholders() -> None:
    import string

    assert VI.keys() == EN.keys()
    for key in VI:
        fields = {f for _, f, _, _ in string.Formatter().parse(VI[key]) if f}
        assert fields == {f for _, f, _, _ in string.Formatter().parse(EN[key]) if f}, key
    assert pick_lang(None, None) == "vi"
    assert pick_lang("en", "vi") == "en"
    assert pick_lang("fr", "en") == "en"
