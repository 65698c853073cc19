"""Alert settings from the environment: the SMTP server, the digest hour, the evaluation interval.

``KIEMKE_SMTP_HOST`` (none: no e-mail), ``KIEMKE_SMTP_PORT`` (587), ``KIEMKE_SMTP_USER`` and
``KIEMKE_SMTP_PASSWORD`` (sent only over TLS), ``KIEMKE_SMTP_FROM``, ``KIEMKE_SMTP_STARTTLS`` (on; the
server's certificate is verified against the system's CAs, or ``KIEMKE_SMTP_CA_FILE``),
``KIEMKE_ALERT_DIGEST_HOUR`` (7: the hour, in ``KIEMKE_TIMEZONE``, when each officer's digest goes out) and
``KIEMKE_ALERT_EVALUATE_MINUTES`` (60: how often every rule is evaluated over the whole district) and
``KIEMKE_PUBLIC_URL`` (the console's address, for the digest's links; unset: the digest names the page in words).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from server.config import Settings


@dataclass(frozen=True)
class AlertSettings:
    """How alerts are evaluated and mailed (declared, read and checked in ``server.config.Settings``)."""

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
    public_url: str | None = None  # checked by ``Settings``: http(s), no final "/"

    @property
    def mail_configured(self) -> bool:
        """Whether digests can be sent at all."""
        return bool(self.smtp_host)

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertSettings:
        """The alert part of the server's settings."""
        return cls(smtp_host=settings.smtp_host, smtp_port=settings.smtp_port, smtp_user=settings.smtp_user,
                   smtp_password=settings.smtp_password, smtp_from=settings.smtp_from,
                   smtp_starttls=settings.smtp_starttls, smtp_ca_file=settings.smtp_ca_file,
                   digest_hour=settings.alert_digest_hour, evaluate_minutes=settings.alert_evaluate_minutes,
                   public_url=settings.public_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AlertSettings:
        """The SMTP and alert settings (``env`` instead of the environment, when
        given); ``ConfigError`` names a refused one."""
        return cls.from_settings(Settings.from_env(env))
