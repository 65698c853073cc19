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


def test_a_bad_value_names_its_variable() -> None:
    with pytest.raises(ConfigError, match=r"^KIEMKE_TOKEN_DAYS: .*integer"):
        Settings.from_env({"KIEMKE_TOKEN_DAYS": "two weeks"})
    with pytest.raises(ConfigError, match=r"^KIEMKE_STALE_AFTER_DAYS: .*greater than 0"):
        Settings.from_env({"KIEMKE_STALE_AFTER_DAYS": "0"})
    with pytest.raises(ConfigError, match="KIEMKE_TIMEZONE: unknown time zone 'Mars/Base'"):
        Settings.from_env({"KIEMKE_TIMEZONE": "Mars/Base"})
    with pytest.raises(ConfigError, match="KIEMKE_SECRETS_DIR"):
        Settings.from_env({"KIEMKE_SECRETS_DIR": "/nonexistent/secrets"})


def test_env_file_and_secret_files_come_after_the_environment(tmp_path: Path) -> None:
    env_file = tmp_path / "kiemke.env"
    env_file.write_text("KIEMKE_TOKEN_DAYS=21\nKIEMKE_STALE_AFTER_DAYS=40\n")
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "KIEMKE_SECRET_KEY").write_text("from-a-secret-file")
    (secrets_dir / "KIEMKE_TOKEN_DAYS").write_text("99")
    settings = Settings.from_env({"KIEMKE_ENV_FILE": str(env_file), "KIEMKE_SECRETS_DIR": str(secrets_dir),
                                  "KIEMKE_STALE_AFTER_DAYS": "45"})
    assert settings.secret_key == "from-a-secret-file"
    assert settings.token_days == 21  # .env before the secret file
    assert settings.stale_after_days == 45  # the environment before .env
    assert Settings().token_days == 14  # arguments alone read nothing else


def test_every_variable_the_server_reads_is_declared_once() -> None:
    import re

    from server.config import variables

    declared = variables()
    assert all(description for description in declared.values())
    root = Path(__file__).resolve().parents[2] / "server"
    named = {m for p in root.rglob("*.py") for m in re.findall(r"KIEMKE_[A-Z][A-Z_]*[A-Z]", p.read_text())}
    agent_side = {n for n in named if n.startswith("KIEMKE_AGENT_")}  # the agent's own settings (agent/config.py)
    assert named - agent_side <= set(declared)
    assert "DATABASE_URL" in declared  # the conventional name, read after KIEMKE_DATABASE_URL


def test_the_config_command_masks_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from server.cli import main

    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KIEMKE_SECRET_KEY", "do-not-print-this-secret-0123456789")
    monkeypatch.setenv("KIEMKE_METRICS_TOKEN", "do-not-print-this-token")
    monkeypatch.setenv("KIEMKE_DATABASE_URL", "postgresql+psycopg://kiemke:hunter2hunter2@db/kiemke")
    monkeypatch.setenv("KIEMKE_TRUSTED_PROXIES", "10.0.0.5")
    assert main(["config", "--json"]) == 0
    out = capsys.readouterr().out
    assert "do-not-print" not in out and "hunter2" not in out
    rows = {row["variable"]: row for row in json.loads(out)["data"]}
    assert rows["KIEMKE_DATABASE_URL"]["value"] == "postgresql+psycopg://kiemke:********@db/kiemke"
    assert rows["KIEMKE_SECRET_KEY"]["value"] == "********" and rows["KIEMKE_SECRET_KEY"]["default"] is False
    assert rows["KIEMKE_TRUSTED_PROXIES"]["value"] == ["10.0.0.5/32"]
    assert rows["KIEMKE_TOKEN_DAYS"] == {"variable": "KIEMKE_TOKEN_DAYS", "value": 14, "default": True,
                                         "description": "Default lifetime of an enrolment token in days"}
    assert main(["config"]) == 0
    assert "do-not-print" not in capsys.readouterr().out
    monkeypatch.setenv("KIEMKE_TOKEN_DAYS", "-1")
    assert main(["config"]) == 2
    assert "KIEMKE_TOKEN_DAYS" in capsys.readouterr().err
