"""The agent's settings: where it keeps its data, how it reaches the server, how it paces itself.

Search order for the data directory (config, key, spool, state):

1. ``--data-dir DIR`` on the command line;
2. the ``KIEMKE_AGENT_DIR`` environment variable;
3. the OS's system location: ``%ProgramData%\\kiemke`` on Windows, ``/var/lib/kiemke-agent`` on Linux,
   ``/Library/Application Support/kiemke`` on macOS.

Inside it, ``config.json`` holds the server URL, the agent's id and key, its bundle-signing private key and
the tuning values. Each tuning value (not the secrets, not the server) is taken from, in order: an environment
variable ``KIEMKE_AGENT_<FIELD>`` (e.g. ``KIEMKE_AGENT_INTERVAL_SECONDS=600``), then ``config.json``, then
the default below. ``config.json`` is written atomically and readable by its owner only: mode 0600 on POSIX,
an ACL for SYSTEM and Administrators on Windows.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

CONFIG_FILE = "config.json"
DATA_DIR_ENV = "KIEMKE_AGENT_DIR"
ENV_PREFIX = "KIEMKE_AGENT_"

# Well-known SIDs, not names: group names are translated on a Vietnamese Windows, SIDs never are.
SYSTEM_SID = "*S-1-5-18"
ADMINISTRATORS_SID = "*S-1-5-32-544"

#: Fields an environment variable may override; secrets and the server come from enrolment only.
TUNABLE_FIELDS = (
    "interval_seconds",
    "jitter_seconds",
    "start_window_seconds",
    "heartbeat_seconds",
    "connect_timeout",
    "read_timeout",
    "spool_max_reports",
    "spool_max_bytes",
    "retry_base_seconds",
    "retry_max_seconds",
    "retry_check_seconds",
    "collect_timeout_seconds",
    "replay",
)


class ConfigError(RuntimeError):
    """The config file is unreadable or invalid, with a message for the person at the PC."""


def default_data_dir(platform: str = sys.platform, env: Mapping[str, str] = os.environ) -> Path:
    """The OS's system location for the agent's data."""
    if platform == "win32":
        return Path(env.get("ProgramData", r"C:\ProgramData")) / "kiemke"
    if platform == "darwin":
        return Path("/Library/Application Support/kiemke")
    return Path("/var/lib/kiemke-agent")


def resolve_data_dir(
    cli_value: str | os.PathLike[str] | None, env: Mapping[str, str] = os.environ, platform: str = sys.platform
) -> Path:
    """The data directory by the search order in the module docstring."""
    if cli_value:
        return Path(cli_value)
    if env.get(DATA_DIR_ENV):
        return Path(env[DATA_DIR_ENV])
    return default_data_dir(platform, env)


def icacls_command(path: Path, directory: bool) -> list[str]:
    """The icacls call that leaves only SYSTEM and Administrators with access to ``path``.

    ``/inheritance:r`` drops the inherited ``Users`` read access of ProgramData; on a directory the grants are
    inheritable (OI)(CI) so the spool and state files created later are covered too.
    """
    grant = "(OI)(CI)F" if directory else "F"
    return ["icacls", str(path), "/inheritance:r", "/grant:r", f"{SYSTEM_SID}:{grant}", f"{ADMINISTRATORS_SID}:{grant}"]


def restrict_access(path: Path, directory: bool) -> None:
    """Make ``path`` readable by its owner (POSIX) or by SYSTEM and Administrators (Windows) only."""
    if sys.platform == "win32":
        done = subprocess.run(icacls_command(path, directory), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ConfigError(f"could not restrict access to {path}: {done.stdout.strip()} {done.stderr.strip()}")
    else:
        os.chmod(path, 0o700 if directory else 0o600)


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) when missing, owner-only; an existing directory is left as it is."""
    if path.is_dir():
        return
    path.mkdir(parents=True, mode=0o700, exist_ok=True)
    restrict_access(path, directory=True)


def fsync_dir(path: Path) -> None:
    """Flush a directory entry so a rename survives power loss; Windows cannot open directories, skip it."""
    if sys.platform == "win32":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_file(source: Path, target: Path, attempts: int = 10) -> None:
    """``os.replace``, retried briefly on Windows, where an antivirus scanning a new file holds it open."""
    for attempt in range(attempts):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if sys.platform != "win32" or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the whole new one, never a part.

    The temporary file sits beside the target (same filesystem, so ``os.replace`` is atomic), is created
    owner-only from the start, and is flushed to disk before the rename.
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        replace_file(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


class AgentSettings(BaseModel):
    """Everything the agent knows about itself; ``config.json`` in the data directory, see module docstring."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    server_url: str | None = Field(None, description="Base URL of the server; None for an air-gapped PC")
    agent_id: uuid.UUID | None = Field(None, description="The agent's id on the server")
    agent_key: str | None = Field(None, description="Bearer key 'kk_<agent_id>_<secret>'")
    private_key: str | None = Field(None, description="Base64 Ed25519 private key that signs export bundles")
    unit_code: str | None = Field(None, description="Unit the device belongs to")
    device_name: str | None = Field(None, description="Name the officer gave an air-gapped device")
    ca_bundle: str | None = Field(None, description="PEM file of CAs to trust instead of the system's")
    allow_http: bool = Field(False, description="Plain HTTP allowed (chosen at enrolment; warned about)")
    enrolled_at: datetime | None = Field(None, description="When the agent was enrolled (UTC)")
    offline: bool = Field(False, description="Enrolled from an offline file: reports leave by export only")

    interval_seconds: int = Field(4 * 3600, ge=1, description="Time between collections")
    jitter_seconds: int = Field(1800, ge=0, description="Up to this much random delay added to each collection")
    start_window_seconds: int = Field(600, ge=0, description="First collection lands at random in this window")
    heartbeat_seconds: int = Field(900, ge=1, description="Time between heartbeats")
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to open a connection to the server")
    read_timeout: float = Field(20.0, gt=0, description="Seconds to wait for the server's answer")
    spool_max_reports: int = Field(500, ge=1, description="Most reports kept waiting; oldest dropped first")
    spool_max_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="Most bytes kept waiting")
    retry_base_seconds: float = Field(60.0, gt=0, description="First retry delay; doubles per failure")
    retry_max_seconds: float = Field(3600.0, gt=0, description="Longest retry delay")
    retry_check_seconds: int = Field(60, ge=1, description="How often the daemon looks whether a retry is due")
    collect_timeout_seconds: int = Field(600, ge=1, description="A collection taking longer is abandoned")
    replay: str | None = Field(None, description="A `capture` folder collected instead of this PC (demos, support, "
                               "end-to-end tests); unset on a real PC")

    _data_dir: Path = PrivateAttr(default_factory=Path)
    _file_values: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path, env: Mapping[str, str] = os.environ) -> AgentSettings:
        """Settings from ``data_dir/config.json`` (defaults when absent) with environment overrides."""
        path = data_dir / CONFIG_FILE
        file_values: dict[str, Any] = {}
        if path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot read {path}: {exc}") from exc
            if not isinstance(loaded, dict):
                raise ConfigError(f"{path} does not hold a JSON object")
            file_values = loaded
        values = dict(file_values)
        for name in TUNABLE_FIELDS:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw:
                values[name] = raw
        try:
            settings = cls.model_validate(values)
        except ValueError as exc:
            raise ConfigError(f"invalid settings in {path} or {ENV_PREFIX}* variables: {exc}") from exc
        settings._data_dir = data_dir
        settings._file_values = file_values
        return settings

    def save(self) -> None:
        """Write ``config.json`` atomically, owner-only; values that came from the environment stay out of it."""
        ensure_private_dir(self.data_dir)
        # The directory may predate us (made by an installer, inheriting ProgramData's Users access): tighten it.
        restrict_access(self.data_dir, directory=True)
        data = self.model_dump(mode="json", exclude_none=True)
        env_only = {name for name in TUNABLE_FIELDS if os.environ.get(ENV_PREFIX + name.upper())}
        for name in env_only:
            if name in self._file_values:
                data[name] = self._file_values[name]
            else:
                data.pop(name, None)
        path = self.config_path
        atomic_write(path, json.dumps(data, indent=2, sort_keys=True).encode("utf-8"))
        restrict_access(path, directory=False)
        self._file_values = data

    @property
    def data_dir(self) -> Path:
        """The directory this agent keeps everything in."""
        return self._data_dir

    @property
    def config_path(self) -> Path:
        """``config.json``."""
        return self._data_dir / CONFIG_FILE

    @property
    def spool_dir(self) -> Path:
        """The on-disk queue of reports waiting for the server."""
        return self._data_dir / "spool"

    @property
    def state_path(self) -> Path:
        """What the agent last did, for ``status``."""
        return self._data_dir / "state.json"

    @property
    def lock_path(self) -> Path:
        """Held while a collection or delivery runs, so none runs twice at once."""
        return self._data_dir / "agent.lock"

    @property
    def enrolled(self) -> bool:
        """True once the agent has a key (online or offline)."""
        return self.agent_id is not None and self.agent_key is not None


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--data-dir`` option every service sub-command shares."""
    parser.add_argument(
        "--data-dir", metavar="DIR", default=None,
        help=f"where the agent keeps its config, key and spool (default: ${DATA_DIR_ENV}, else the OS location)",
    )


def settings_from_args(args: argparse.Namespace) -> AgentSettings:
    """The settings for a sub-command's ``--data-dir`` (or the search order)."""
    return AgentSettings.load(resolve_data_dir(getattr(args, "data_dir", None)))


def enrolled_settings_from_args(args: argparse.Namespace) -> AgentSettings | None:
    """The settings of an enrolled agent, or None after saying on stderr why not (broken config, no key)."""
    try:
        settings = settings_from_args(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    if not settings.enrolled:
        print(f"error: this agent is not enrolled ({settings.config_path} has no key): "
              "run `kiemke-agent enroll` first", file=sys.stderr)
        return None
    return settings


def configure_logging(level: int = logging.WARNING, log_file: Path | None = None) -> None:
    """Messages to stderr (the journal under systemd) and, for a service, to a small rotating file."""
    handlers: list[logging.Handler] = []
    # A Windows service has no console: sys.stderr is None there, and the file is the only log.
    if sys.stderr is not None:
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        handlers.append(console)
    if log_file is not None:
        from logging.handlers import RotatingFileHandler

        file = RotatingFileHandler(log_file, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handlers.append(file)
    logging.basicConfig(level=level, handlers=handlers, force=True)
