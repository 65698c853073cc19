"""The server's one settings class, read from the environment.

Search order: explicit arguments (tests, ``create_app(Settings(...))``), then environment variables, then
the defaults below. ``KIEMKE_DATA_DIR`` (default ``./var``) holds the SQLite file unless ``DATABASE_URL``
(or ``KIEMKE_DATABASE_URL``) names another database, e.g. ``postgresql+psycopg://user@host/kiemke``.
In production (``KIEMKE_ENV=production``) ``KIEMKE_SECRET_KEY`` must be at least 32 random bytes (the default,
a short or a repetitive key is refused at start-up). ``KIEMKE_TRUSTED_PROXIES`` lists the reverse proxies
(IPs or CIDRs, comma separated) whose ``X-Forwarded-For`` names the client; from anyone else it is ignored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import tzinfo
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from shared.protocol import MAX_REPORT_BYTES

DEFAULT_SECRET = "changethis"  # noqa: S105 - the placeholder that production refuses
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
MIN_SECRET_BYTES = 32

Environment = Literal["development", "test", "production"]


def report_timezone() -> tzinfo:
    """The zone whose day ends bound report dates: ``KIEMKE_TIMEZONE``, default Asia/Ho_Chi_Minh."""
    return ZoneInfo(os.environ.get("KIEMKE_TIMEZONE") or DEFAULT_TIMEZONE)


class ConfigError(ValueError):
    """A setting that the server refuses to start with."""


class Settings(BaseModel):
    """Everything the server process is configured with."""

    environment: Environment = Field("development", description="development, test or production")
    data_dir: Path = Field(Path("var"), description="Directory of the default SQLite file and other state")
    database_url: str | None = Field(None, description="SQLAlchemy URL; None means <data_dir>/kiemke.db")
    secret_key: str = Field(DEFAULT_SECRET, description="Signs console sessions; must be changed in production")
    max_report_bytes: int = Field(MAX_REPORT_BYTES, gt=0, description="Largest accepted report body (413 above)")
    token_days: int = Field(14, gt=0, description="Default lifetime of an enrolment token in days")
    report_interval_seconds: int | None = Field(4 * 3600, description="Collection interval suggested to agents")
    timezone: str = Field(DEFAULT_TIMEZONE, description="Local zone whose day ends bound a report date")
    # Policy values kept here so one place configures them; services/policy.py reads them.
    service_life_years: float = Field(5, gt=0, description="Devices older than this are past service life")
    signature_max_age_days: int = Field(7, gt=0, description="Antivirus signatures older than this are stale")
    stale_after_days: int = Field(30, gt=0, description="An agent silent for longer than this is stale")
    builtin_av_licensed: bool = Field(True, description="Antivirus built into the OS counts as licensed")
    licence_expiry_warn_days: int = Field(
        30, ge=0, description="Antivirus licences ending within this many days are listed as about to expire"
    )
    scheduler: bool = Field(True, description="Run scheduled jobs (report snapshots) in this process")
    metrics_token: str | None = Field(None, description="Bearer token of /metrics; None: no /metrics (404)")
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = Field(
        (), description="Reverse proxies whose X-Forwarded-For is believed (IPs or CIDRs); none by default")

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, (list, tuple)):
            try:
                return tuple(ip_network(str(part), strict=False) for part in value)
            except ValueError as exc:
                raise ConfigError(f"KIEMKE_TRUSTED_PROXIES: {exc} (give IPs or CIDRs, comma separated)") from None
        return value

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> Settings:
        if self.environment != "production":
            return self
        hint = 'e.g. the output of: python3 -c "import secrets; print(secrets.token_urlsafe(32))"'
        if self.secret_key == DEFAULT_SECRET:
            raise ConfigError(f"KIEMKE_SECRET_KEY is still the default 'changethis': set a long random value, {hint}")
        if len(self.secret_key.encode()) < MIN_SECRET_BYTES or len(set(self.secret_key)) < 8:
            raise ConfigError(f"KIEMKE_SECRET_KEY is too weak for production: at least {MIN_SECRET_BYTES} random "
                              f"bytes are needed, {hint}")
        return self

    @property
    def url(self) -> str:
        """The database URL actually used."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'kiemke.db').resolve()}"

    @property
    def tz(self) -> tzinfo:
        """The local time zone of report dates."""
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``KIEMKE_*`` environment variables, then ``overrides``."""
        env = os.environ if env is None else env
        names = {
            "environment": "KIEMKE_ENV",
            "data_dir": "KIEMKE_DATA_DIR",
            "secret_key": "KIEMKE_SECRET_KEY",
            "max_report_bytes": "KIEMKE_MAX_REPORT_BYTES",
            "token_days": "KIEMKE_TOKEN_DAYS",
            "report_interval_seconds": "KIEMKE_REPORT_INTERVAL_SECONDS",
            "timezone": "KIEMKE_TIMEZONE",
            "service_life_years": "KIEMKE_SERVICE_LIFE_YEARS",
            "signature_max_age_days": "KIEMKE_SIGNATURE_MAX_AGE_DAYS",
            "stale_after_days": "KIEMKE_STALE_AFTER_DAYS",
            "builtin_av_licensed": "KIEMKE_BUILTIN_AV_LICENSED",
            "licence_expiry_warn_days": "KIEMKE_LICENCE_EXPIRY_WARN_DAYS",
            "scheduler": "KIEMKE_SCHEDULER",
            "metrics_token": "KIEMKE_METRICS_TOKEN",
            "trusted_proxies": "KIEMKE_TRUSTED_PROXIES",
        }
        values: dict[str, object] = {field: env[var] for field, var in names.items() if env.get(var)}
        url = env.get("KIEMKE_DATABASE_URL") or env.get("DATABASE_URL")
        if url:
            values["database_url"] = url
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:  # one sentence per refused setting, for the person starting the server
            reasons = (f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}".removeprefix(": ").replace(
                "Value error, ", "") for e in exc.errors())
            raise ConfigError("; ".join(reasons)) from None
