"""The console's sign-in: the demo's one-time link, credentials and the label catalogues."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.config import Settings
from server.console import auth
from server.console.i18n import EN, VI, pick_lang
from server.db import make_engine
from server.main import create_app
from server.security import MIN_PASSWORD


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
    assert made.username == "admin" and made.password and len(made.password) >= MIN_PASSWORD
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
