"""Password hashes, signed tokens, the signing key and the digests of agent keys (``server.security``)."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

from server import security
from server.config import Settings


def test_password_hash_round_trip() -> None:
    stored = security.hash_password("correct horse battery")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert security.verify_password("correct horse battery", stored)
    assert not security.verify_password("correct horse batterx", stored)
    assert security.hash_password("correct horse battery") != stored  # salted
    assert not security.verify_password("anything", "md5$garbage")
    assert not security.verify_password("anything", "scrypt$x$y")


def test_password_rules() -> None:
    assert security.password_problem("short") is not None
    assert security.password_problem(" spaces around ") is not None
    assert security.password_problem("long enough pass") is None


def test_tokens_are_bound_to_key_purpose_and_age() -> None:
    key = b"k" * 32
    token = security.sign(key, "session", {"u": 1}, now=1000)
    assert security.unsign(key, "session", token, 60, now=1030) == {"u": 1, "t": 1000}
    assert security.unsign(key, "session", token, 60, now=1100) is None  # expired
    assert security.unsign(key, "link", token, 60, now=1030) is None  # another purpose
    assert security.unsign(b"x" * 32, "session", token, 60, now=1030) is None  # another key
    body, _, mac = token.partition(".")
    tampered = body + "." + mac[:-1] + ("A" if mac[-1] != "A" else "B")
    assert security.unsign(key, "session", tampered, 60, now=1030) is None
    assert security.unsign(key, "session", "not-a-token", 60) is None


def test_signing_key_from_the_secret_or_a_private_file(tmp_path: Path) -> None:
    configured = Settings(data_dir=tmp_path, secret_key="a long configured secret")
    assert security.signing_key(configured) == security.signing_key(configured)
    assert not (tmp_path / "console.key").exists()
    default = Settings(data_dir=tmp_path / "dev")
    key = security.signing_key(default)
    path = tmp_path / "dev" / "console.key"
    assert path.read_bytes() == key and len(key) == 32
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert security.signing_key(default) != security.signing_key(configured)


def test_agent_keys_are_stored_as_a_digest_of_their_secret() -> None:
    agent_id = uuid.uuid4()
    key, stored = security.new_agent_key(agent_id)
    prefix, key_id, secret = key.split("_", 2)
    assert prefix == "kk" and key_id == str(agent_id) and secret not in stored
    assert security.matches_digest(secret, stored)
    assert not security.matches_digest(secret + "x", stored)
    assert security.new_agent_key(agent_id)[0] != key  # random each time
