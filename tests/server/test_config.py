"""Settings come from the environment, and production refuses the default secret."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from server.config import ConfigError, Settings


def test_from_env_and_default_sqlite_path(tmp_path: Path) -> None:
    settings = Settings.from_env({"KIEMKE_DATA_DIR": str(tmp_path), "KIEMKE_SERVICE_LIFE_YEARS": "6",
                                  "KIEMKE_BUILTIN_AV_LICENSED": "false"})
    assert settings.url == f"sqlite:///{tmp_path.resolve() / 'kiemke.db'}"
    assert settings.service_life_years == 6 and settings.builtin_av_licensed is False
    assert settings.signature_max_age_days == 7 and settings.stale_after_days == 30
    other = Settings.from_env({"DATABASE_URL": "postgresql+psycopg://u@h/db"})
    assert other.url == "postgresql+psycopg://u@h/db"


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ConfigError, match="KIEMKE_SECRET_KEY"):
        Settings.from_env({"KIEMKE_ENV": "production"})
    key = secrets.token_urlsafe(32)
    assert Settings.from_env({"KIEMKE_ENV": "production", "KIEMKE_SECRET_KEY": key}).environment == "production"


@pytest.mark.parametrize("key", ["k", "short-but-not-default", "x" * 40, "ab" * 20, "é" * 16])
def test_production_refuses_a_short_or_repetitive_secret(key: str) -> None:
    with pytest.raises(ConfigError, match="at least 32 random bytes"):
        Settings.from_env({"KIEMKE_ENV": "production", "KIEMKE_SECRET_KEY": key})
    assert Settings.from_env({"KIEMKE_SECRET_KEY": key}).secret_key == key  # development takes any


def test_a_command_refuses_to_start_with_a_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from server.cli import main

    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KIEMKE_ENV", "production")
    monkeypatch.setenv("KIEMKE_SECRET_KEY", "a")
    for command in (["db", "upgrade"], ["units", "list"], ["token", "list"], ["serve"]):
        assert main(command) == 2
        assert "cannot start: KIEMKE_SECRET_KEY is too weak" in capsys.readouterr().err
    assert not (tmp_path / "kiemke.db").exists()


def test_trusted_proxies_are_networks() -> None:
    settings = Settings.from_env({"KIEMKE_TRUSTED_PROXIES": "10.0.0.5, 192.168.1.0/24,::1"})
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.5/32", "192.168.1.0/24", "::1/128"]
    assert Settings.from_env({}).trusted_proxies == ()
    with pytest.raises(ConfigError, match="KIEMKE_TRUSTED_PROXIES"):
        Settings.from_env({"KIEMKE_TRUSTED_PROXIES": "proxy.example.vn"})
