"""Settings: the data-dir search order, environment overrides, owner-only atomic writes, the Windows ACL call."""

from __future__ import annotations

import json
import os
import stat
import sys
import uuid
from pathlib import Path

import pytest

from agent.config import (
    ADMINISTRATORS_SID,
    SYSTEM_SID,
    AgentSettings,
    ConfigError,
    atomic_write,
    default_data_dir,
    icacls_command,
    resolve_data_dir,
)


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("win32", {"ProgramData": r"D:\PD"}, Path(r"D:\PD") / "kiemke"),
        ("win32", {}, Path(r"C:\ProgramData") / "kiemke"),
        ("linux", {}, Path("/var/lib/kiemke-agent")),
        ("darwin", {}, Path("/Library/Application Support/kiemke")),
    ],
)
def test_default_data_dir_per_os(platform: str, env: dict[str, str], expected: Path) -> None:
    assert default_data_dir(platform, env) == expected


def test_search_order_cli_then_env_then_os(tmp_path: Path) -> None:
    env = {"KIEMKE_AGENT_DIR": str(tmp_path / "env")}
    assert resolve_data_dir(str(tmp_path / "cli"), env, "linux") == tmp_path / "cli"
    assert resolve_data_dir(None, env, "linux") == tmp_path / "env"
    assert resolve_data_dir(None, {}, "linux") == Path("/var/lib/kiemke-agent")


def test_defaults_when_no_config(tmp_path: Path) -> None:
    settings = AgentSettings.load(tmp_path, env={})
    assert not settings.enrolled
    assert settings.interval_seconds == 4 * 3600
    assert settings.allow_http is False
    assert settings.spool_dir == tmp_path / "spool"


def test_save_is_owner_only_and_round_trips(tmp_path: Path) -> None:
    data_dir = tmp_path / "agent"
    settings = AgentSettings.load(data_dir, env={})
    agent_id = uuid.uuid4()
    settings.server_url = "https://kiemke.example.vn"
    settings.agent_id = agent_id
    settings.agent_key = f"kk_{agent_id}_secret"
    settings.save()
    again = AgentSettings.load(data_dir, env={})
    assert again.enrolled and again.agent_id == agent_id and again.server_url == "https://kiemke.example.vn"
    if sys.platform != "win32":
        assert stat.S_IMODE(os.stat(settings.config_path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(data_dir).st_mode) == 0o700
    assert not [p for p in data_dir.iterdir() if p.name.endswith(".tmp")]


def test_environment_overrides_tuning_but_is_not_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"interval_seconds": 7200}), encoding="utf-8")
    monkeypatch.setenv("KIEMKE_AGENT_INTERVAL_SECONDS", "30")
    monkeypatch.setenv("KIEMKE_AGENT_AGENT_KEY", "kk_not_taken_from_env")
    settings = AgentSettings.load(tmp_path)
    assert settings.interval_seconds == 30
    assert settings.agent_key is None  # secrets never come from the environment
    settings.unit_code = "UBND"
    settings.save()
    saved = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
    assert saved["interval_seconds"] == 7200 and saved["unit_code"] == "UBND"


def test_invalid_config_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cannot read"):
        AgentSettings.load(tmp_path, env={})
    (tmp_path / "config.json").write_text(json.dumps({"interval_seconds": 0}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"invalid settings"):
        AgentSettings.load(tmp_path, env={})


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    atomic_write(target, b"old")
    atomic_write(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_icacls_grants_only_system_and_administrators_by_sid() -> None:
    file_cmd = icacls_command(Path(r"C:\ProgramData\kiemke\config.json"), directory=False)
    assert file_cmd == [
        "icacls", r"C:\ProgramData\kiemke\config.json", "/inheritance:r", "/grant:r",
        f"{SYSTEM_SID}:F", f"{ADMINISTRATORS_SID}:F",
    ]
    dir_cmd = icacls_command(Path(r"C:\ProgramData\kiemke"), directory=True)
    assert dir_cmd[-2:] == ["*S-1-5-18:(OI)(CI)F", "*S-1-5-32-544:(OI)(CI)F"]
    assert not any("Users" in part or "Everyone" in part for part in dir_cmd)
