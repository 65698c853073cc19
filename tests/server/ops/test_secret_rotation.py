"""What deploy/README.md says about rotating KIEMKE_SECRET_KEY: sessions end, agents' keys keep working."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from server.config import Settings
from server.db import reading
from server.security import signing_key
from server.services.enrolment import authenticate
from server.services.users import create_user, session_token, user_from_session
from tests.server.factories import enrolled_agent, make_unit


def test_a_new_secret_ends_console_sessions_but_not_agents(engine: Engine, tmp_path: Path) -> None:
    make_unit(engine)
    user = create_user(engine, "admin", "mat-khau-rat-dai-1", "admin", None, actor="test")
    _, agent_key = enrolled_agent(engine)
    old = Settings(environment="production", data_dir=tmp_path, secret_key="old-0123456789abcdefghijklmnopqrstuvwxyz")
    new = old.model_copy(update={"secret_key": "new-zyxwvutsrqponmlkjihgfedcba9876543210"})
    cookie = session_token(signing_key(old), user)
    assert user_from_session(engine, signing_key(old), cookie) is not None

    assert user_from_session(engine, signing_key(new), cookie) is None
    with reading(engine) as session:
        assert authenticate(session, agent_key) is not None
