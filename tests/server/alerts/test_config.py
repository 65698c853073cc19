"""Alert settings from the environment: defaults, refusals with the variable's name, no password in clear."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.alerts.config import AlertSettings
from server.alerts.texts import EN, VI
from server.cli import main
from server.config import ConfigError


def test_defaults_and_values() -> None:
    default = AlertSettings.from_env({})
    assert (default.mail_configured, default.smtp_port, default.smtp_starttls, default.digest_hour) == (
        False, 587, True, 7)
    given = AlertSettings.from_env({"KIEMKE_SMTP_HOST": "mail.example.vn", "KIEMKE_SMTP_PORT": "2525",
                                    "KIEMKE_SMTP_USER": "kiemke", "KIEMKE_SMTP_PASSWORD": "s3cret",
                                    "KIEMKE_SMTP_FROM": "kiemke@example.vn", "KIEMKE_ALERT_DIGEST_HOUR": "16",
                                    "KIEMKE_ALERT_EVALUATE_MINUTES": "15"})
    assert (given.smtp_host, given.smtp_port, given.smtp_user, given.digest_hour, given.evaluate_minutes) == (
        "mail.example.vn", 2525, "kiemke", 16, 15)


@pytest.mark.parametrize(("name", "value", "said"), [
    ("KIEMKE_SMTP_PORT", "smtp", "KIEMKE_SMTP_PORT: .*valid integer"),
    ("KIEMKE_SMTP_PORT", "70000", "KIEMKE_SMTP_PORT: .*less than or equal to 65535"),
    ("KIEMKE_ALERT_DIGEST_HOUR", "24", "KIEMKE_ALERT_DIGEST_HOUR: .*less than or equal to 23"),
    ("KIEMKE_SMTP_STARTTLS", "maybe", "KIEMKE_SMTP_STARTTLS: .*valid boolean"),
    ("KIEMKE_ALERT_EVALUATE_MINUTES", "1", "KIEMKE_ALERT_EVALUATE_MINUTES: .*greater than or equal to 5"),
])
def test_refused_settings_name_the_variable(name: str, value: str, said: str) -> None:
    with pytest.raises(ConfigError, match=said):
        AlertSettings.from_env({name: value})


def test_a_password_never_travels_in_clear() -> None:
    with pytest.raises(ConfigError, match="STARTTLS is off"):
        AlertSettings.from_env({"KIEMKE_SMTP_HOST": "m", "KIEMKE_SMTP_USER": "u", "KIEMKE_SMTP_STARTTLS": "false"})


def test_both_languages_have_every_word() -> None:
    assert VI.keys() == EN.keys()
    assert all(VI[k] and EN[k] for k in VI)


def test_serve_refuses_to_start_with_a_bad_alert_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KIEMKE_ALERT_DIGEST_HOUR", "25")
    assert main(["serve", "--port", "1"]) == 2
    assert "KIEMKE_ALERT_DIGEST_HOUR: Input should be less than or equal to 23" in capsys.readouterr().err
    assert not (tmp_path / "kiemke.db").exists()  # refused before anything was opened
