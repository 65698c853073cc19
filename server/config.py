"""The server's one settings class: every ``KIEMKE_*`` variable declared once, with its type, default and
description, read by pydantic-settings.

Search order, first found wins: explicit arguments (tests, ``create_app(Settings(...))``), environment
variables, the ``.env`` file (``KIEMKE_ENV_FILE``, default ``./.env``), then files in the secrets folder
(``KIEMKE_SECRETS_DIR``, e.g. ``/run/secrets``: one file per variable, named like it), then the defaults
below. ``Settings(...)`` alone reads nothing but its arguments; ``Settings.from_env()`` reads every source.

``KIEMKE_DATA_DIR`` (default ``./var``) holds the SQLite file unless ``KIEMKE_DATABASE_URL`` (or
``DATABASE_URL``) names another database, e.g. ``postgresql+psycopg://user@host/kiemke``. In production
(``KIEMKE_ENV=production``) ``KIEMKE_SECRET_KEY`` must be at least 32 random bytes (the default, a short or a
repetitive key is refused at start-up). ``KIEMKE_TRUSTED_PROXIES`` lists the reverse proxies (IPs or CIDRs,
comma separated) whose ``X-Forwarded-For`` names the client; from anyone else it is ignored. ``KIEMKE_PUBLIC_URL``
(optional, http or https) is the console's address as users reach it, for links in the alert digest. A bad value
stops the server with one sentence per variable (``ConfigError``); ``kiemke-server config`` prints the
effective settings with secrets masked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import tzinfo
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from shared.protocol import MAX_REPORT_BYTES

DEFAULT_SECRET = "changethis"  # noqa: S105 - the placeholder that production refuses
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
MIN_SECRET_BYTES = 32
#: Settings whose values ``kiemke-server config`` never prints.
SECRETS = frozenset({"secret_key", "metrics_token", "smtp_password"})

Environment = Literal["development", "test", "production"]


def report_timezone() -> tzinfo:
    """The zone whose day ends bound report dates: ``KIEMKE_TIMEZONE``, default Asia/Ho_Chi_Minh."""
    return ZoneInfo(os.environ.get("KIEMKE_TIMEZONE") or DEFAULT_TIMEZONE)


class ConfigError(ValueError):
    """A setting that the server refuses to start with."""


def _var(name: str, default: Any, description: str, *also: str, **constraints: Any) -> Any:
    """A setting read from the variable ``name`` (then ``also``), with its default and description."""
    alias: str | AliasChoices = AliasChoices(name, *also) if also else name
    return Field(default, validation_alias=alias, description=description, **constraints)


class Settings(BaseSettings):
    """Everything the server process is configured with."""

    model_config = SettingsConfigDict(populate_by_name=True, case_sensitive=True, env_ignore_empty=True,
                                      extra="ignore")

    environment: Environment = _var("KIEMKE_ENV", "development", "development, test or production")
    data_dir: Path = _var("KIEMKE_DATA_DIR", Path("var"), "Directory of the default SQLite file and other state")
    database_url: str | None = _var("KIEMKE_DATABASE_URL", None,
                                    "SQLAlchemy URL; unset means <data dir>/kiemke.db", "DATABASE_URL")
    secret_key: str = _var("KIEMKE_SECRET_KEY", DEFAULT_SECRET,
                           "Signs console sessions; must be changed in production")
    max_report_bytes: int = _var("KIEMKE_MAX_REPORT_BYTES", MAX_REPORT_BYTES,
                                 "Largest accepted report body (413 above)", gt=0)
    token_days: int = _var("KIEMKE_TOKEN_DAYS", 14, "Default lifetime of an enrolment token in days", gt=0)
    report_interval_seconds: int | None = _var("KIEMKE_REPORT_INTERVAL_SECONDS", 4 * 3600,
                                               "Collection interval suggested to agents")
    timezone: str = _var("KIEMKE_TIMEZONE", DEFAULT_TIMEZONE, "Local zone whose day ends bound a report date")
    # Policy values kept here so one place configures them; services/policy.py reads them.
    service_life_years: float = _var("KIEMKE_SERVICE_LIFE_YEARS", 5, "Devices older than this are past service life",
                                     gt=0)
    signature_max_age_days: int = _var("KIEMKE_SIGNATURE_MAX_AGE_DAYS", 7,
                                       "Antivirus signatures older than this are stale", gt=0)
    stale_after_days: int = _var("KIEMKE_STALE_AFTER_DAYS", 30, "An agent silent for longer than this is stale", gt=0)
    builtin_av_licensed: bool = _var("KIEMKE_BUILTIN_AV_LICENSED", True,
                                     "Antivirus built into the OS counts as licensed")
    licence_expiry_warn_days: int = _var("KIEMKE_LICENCE_EXPIRY_WARN_DAYS", 30,
                                         "Antivirus licences ending within this many days are listed as about to "
                                         "expire", ge=0)
    scheduler: bool = _var("KIEMKE_SCHEDULER", True, "Run scheduled jobs (report snapshots) in this process")
    recent_figures_after: float = _var(
        "KIEMKE_RECENT_FIGURES_AFTER", 5.0,
        "Seconds of computing a scope's figures beyond which the console's overview, device list and units page "
        "show the scope's last figures (saying when they were made, at most 10 minutes old) while the newest "
        "are computed; 0: always, a very large number: never", ge=0)
    report_cutoffs: str = _var("KIEMKE_REPORT_CUTOFFS", "05-18,11-18",
                               "Month-days (MM-DD, comma separated) whose reports the schedule keeps")
    report_langs: str = _var("KIEMKE_REPORT_LANGS", "vi", "Languages of the kept reports (vi, en; comma separated)")
    report_units: str = _var("KIEMKE_REPORT_UNITS", "",
                             "Unit codes with a kept report of their own (comma separated); the district always")
    metrics_token: str | None = _var("KIEMKE_METRICS_TOKEN", None,
                                     "Bearer token of /metrics; unset: no /metrics (404)")
    trusted_proxies: Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode] = _var(
        "KIEMKE_TRUSTED_PROXIES", (), "Reverse proxies whose X-Forwarded-For is believed (IPs or CIDRs); none by "
        "default")
    public_url: str | None = _var(
        "KIEMKE_PUBLIC_URL", None, "The console's address as its users reach it (http:// or https://), for the links "
        "in the alert digest; unset: the digest names the page in words")
    # Alerts: where the officers' digests are mailed from, when, and how often the rules run over the district.
    smtp_host: str | None = _var("KIEMKE_SMTP_HOST", None, "SMTP server of the alert digests; unset: no e-mail")
    smtp_port: int = _var("KIEMKE_SMTP_PORT", 587, "SMTP port", ge=1, le=65535)
    smtp_user: str | None = _var("KIEMKE_SMTP_USER", None, "SMTP user name (sent only over TLS)")
    smtp_password: str | None = _var("KIEMKE_SMTP_PASSWORD", None, "SMTP password (sent only over TLS)")
    smtp_from: str = _var("KIEMKE_SMTP_FROM", "kiemke@localhost", "Sender address of the alert digests")
    smtp_starttls: bool = _var("KIEMKE_SMTP_STARTTLS", True,
                               "Upgrade the SMTP connection with STARTTLS (the certificate is verified)")
    smtp_ca_file: str | None = _var("KIEMKE_SMTP_CA_FILE", None,
                                    "CA bundle that signs the SMTP server's certificate (default: the system's)")
    alert_digest_hour: int = _var("KIEMKE_ALERT_DIGEST_HOUR", 7,
                                  "Hour (in KIEMKE_TIMEZONE) when each officer's alert digest goes out", ge=0, le=23)
    alert_evaluate_minutes: int = _var("KIEMKE_ALERT_EVALUATE_MINUTES", 60,
                                       "How often every alert rule runs over the whole district", ge=5, le=1440)
    env_file: Path | None = _var("KIEMKE_ENV_FILE", None, "A .env file to read settings from (default ./.env)")
    secrets_dir: Path | None = _var("KIEMKE_SECRETS_DIR", None,
                                    "Folder of secret files, one per variable named like it (e.g. /run/secrets)")

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

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return public_address(value.strip())

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"KIEMKE_TIMEZONE: unknown time zone {value!r} (e.g. Asia/Ho_Chi_Minh)") from None
        return value

    @model_validator(mode="after")
    def _no_password_in_clear(self) -> Settings:
        if self.smtp_user and not self.smtp_starttls:
            raise ConfigError("KIEMKE_SMTP_USER is set but KIEMKE_SMTP_STARTTLS is off: the password would "
                              "travel in clear; turn STARTTLS on")
        return self

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
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments only, unless ``from_env`` is reading: then the environment, ``.env`` and secret files too."""
        reading = _READING.get()
        if reading is None:
            return (init_settings,)
        sources: list[PydanticBaseSettingsSource] = [init_settings, _MappingSource(settings_cls, reading.env)]
        if reading.env_file is not None and reading.env_file.is_file():
            sources.append(DotEnvSettingsSource(settings_cls, env_file=reading.env_file, case_sensitive=True,
                                                env_ignore_empty=True))
        if reading.secrets_dir is not None:
            sources.append(SecretsSettingsSource(settings_cls, secrets_dir=reading.secrets_dir, case_sensitive=True))
        return tuple(sources)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from the environment (``env`` instead, when given), ``.env`` and secret files, then
        ``overrides``; ``ConfigError`` with one sentence per refused variable."""
        given = os.environ if env is None else env
        env_file = given.get("KIEMKE_ENV_FILE") or (".env" if env is None else None)
        secrets_dir = given.get("KIEMKE_SECRETS_DIR") or None
        if secrets_dir is not None and not Path(secrets_dir).is_dir():
            raise ConfigError(f"KIEMKE_SECRETS_DIR: {secrets_dir} is not a folder")
        reading = _Reading(given, Path(env_file) if env_file else None, Path(secrets_dir) if secrets_dir else None)
        with _reading(reading):
            try:
                return cls(**overrides)  # type: ignore[arg-type]
            except ValidationError as exc:  # one sentence per refused setting, for the person starting the server
                raise ConfigError(_sentences(exc)) from None
            except SettingsError as exc:
                raise ConfigError(str(exc)) from None

    def shown(self) -> list[SettingLine]:
        """Every setting with its variable, effective value (secrets masked) and description."""
        lines = []
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            is_default = value == info.default
            if name in SECRETS and value is not None:
                value = "(default)" if value == DEFAULT_SECRET else "********"
            elif name == "database_url" and value is not None:
                value = _without_password(value)
            elif isinstance(value, tuple):
                value = [str(v) for v in value]
            elif isinstance(value, Path):
                value = str(value)
            lines.append(SettingLine(variable_of(info), name, value, is_default, info.description or ""))
        return lines


@dataclass(frozen=True)
class SettingLine:
    """One setting as ``kiemke-server config`` prints it."""

    variable: str
    field: str
    value: object
    is_default: bool
    description: str


def variable_of(info: FieldInfo) -> str:
    """The environment variable a field is read from (the first, where there are several)."""
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return str(alias)


def variables() -> dict[str, str]:
    """Every variable the server reads -> its description."""
    out = {}
    for info in Settings.model_fields.values():
        alias = info.validation_alias
        names = alias.choices if isinstance(alias, AliasChoices) else [alias]
        out.update({str(name): info.description or "" for name in names})
    return out


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":********@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def public_address(value: str) -> str:
    """``KIEMKE_PUBLIC_URL`` checked: an http(s) address with a host, no user, query or fragment; without the
    final ``/``. ``ConfigError`` says what is wrong."""
    example = "e.g. https://kiemke.ubnd.example.vn"
    if any(ch.isspace() or ord(ch) < 32 or ch in "<>\"'\\" for ch in value):
        raise ConfigError(f"KIEMKE_PUBLIC_URL: {value!r} has spaces or characters an address may not hold; {example}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError as exc:
        raise ConfigError(f"KIEMKE_PUBLIC_URL: {value!r} is not an address ({exc}); {example}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"KIEMKE_PUBLIC_URL: {value!r} is not an http:// or https:// address; {example}")
    if parts.username is not None or parts.query or parts.fragment:
        raise ConfigError(f"KIEMKE_PUBLIC_URL may not hold a user name, a password, a query or a fragment; {example}")
    return urlunsplit(parts._replace(scheme=parts.scheme.lower())).rstrip("/")


def _sentences(exc: ValidationError) -> str:
    fields = {name: variable_of(info) for name, info in Settings.model_fields.items()}
    reasons = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        where = fields.get(where, where)
        message = error["msg"].replace("Value error, ", "")
        reasons.append(message if not where or message.startswith(where) else f"{where}: {message}")
    return "; ".join(reasons)


@dataclass(frozen=True)
class _Reading:
    env: Mapping[str, str]
    env_file: Path | None
    secrets_dir: Path | None


_READING: ContextVar[_Reading | None] = ContextVar("kiemke_settings_reading", default=None)


@contextmanager
def _reading(what: _Reading) -> Iterator[None]:
    token = _READING.set(what)
    try:
        yield
    finally:
        _READING.reset(token)


class _MappingSource(EnvSettingsSource):
    """The environment source over a given mapping (``os.environ`` in a process, a dict in tests)."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._given = env
        super().__init__(settings_cls, case_sensitive=True, env_ignore_empty=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return dict(self._given)
