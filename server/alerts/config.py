"""Alert settings from the environment: the SMTP server, the digest hour, the evaluation interval.

``KIEMKE_SMTP_HOST`` (none: no e-mail), ``KIEMKE_SMTP_PORT`` (587), ``KIEMKE_SMTP_USER`` and
``KIEMKE_SMTP_PASSWORD`` (sent only over TLS), ``KIEMKE_SMTP_FROM``, ``KIEMKE_SMTP_STARTTLS`` (on; the
server's certificate is verified against the system's CAs, or ``KIEMKE_SMTP_CA_FILE``),
``KIEMKE_ALERT_DIGEST_HOUR`` (7: the hour, in ``KIEMKE_TIMEZONE``, when each officer's digest goes out) and
``KIEMKE_ALERT_EVALUATE_MINUTES`` (60: how often every rule is evaluated over the whole district).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from server.config import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(name: str, text: str) -> bool:
    value = text.strip().casefold()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}: {text!r} is not a yes/no value (true or false)")


def _number(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ConfigError(f"{name}: {text!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: {value} is outside {low}..{high}")
    return value


@dataclass(frozen=True)
class AlertSettings:
    """How alerts are evaluated and mailed."""

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "kiemke@localhost"
    smtp_starttls: bool = True
    smtp_ca_file: str | None = None
    smtp_timeout: float = 30.0
    digest_hour: int = 7
    evaluate_minutes: int = 60

    @property
    def mail_configured(self) -> bool:
        """Whether digests can be sent at all."""
        return bool(self.smtp_host)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AlertSettings:
        """The settings from ``KIEMKE_SMTP_*`` and ``KIEMKE_ALERT_*``; ConfigError names a refused one."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name)
            return value if value else None

        port, hour, minutes = get("KIEMKE_SMTP_PORT"), get("KIEMKE_ALERT_DIGEST_HOUR"), get(
            "KIEMKE_ALERT_EVALUATE_MINUTES")
        tls = get("KIEMKE_SMTP_STARTTLS")
        settings = cls(
            smtp_host=get("KIEMKE_SMTP_HOST"),
            smtp_port=_number("KIEMKE_SMTP_PORT", port, 1, 65535) if port else 587,
            smtp_user=get("KIEMKE_SMTP_USER"),
            smtp_password=get("KIEMKE_SMTP_PASSWORD"),
            smtp_from=get("KIEMKE_SMTP_FROM") or "kiemke@localhost",
            smtp_starttls=_flag("KIEMKE_SMTP_STARTTLS", tls) if tls else True,
            smtp_ca_file=get("KIEMKE_SMTP_CA_FILE"),
            digest_hour=_number("KIEMKE_ALERT_DIGEST_HOUR", hour, 0, 23) if hour else 7,
            evaluate_minutes=_number("KIEMKE_ALERT_EVALUATE_MINUTES", minutes, 5, 1440) if minutes else 60,
        )
        if settings.smtp_user and not settings.smtp_starttls:
            raise ConfigError("KIEMKE_SMTP_USER is set but KIEMKE_SMTP_STARTTLS is off: the password would "
                              "travel in clear; turn STARTTLS on")
        return settings
