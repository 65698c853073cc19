"""The installed operating system: name, version, build, install date, last boot, last update."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from shared.schema import OperatingSystem

if TYPE_CHECKING:
    from agent.collectors import PlatformModule
    from agent.collectors._source import Errors, Source

FAMILY = "os"


def from_epoch(seconds: object) -> datetime | None:
    """An aware UTC datetime from epoch seconds, whole seconds only (boot times jitter below that)."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(int(seconds), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):  # a broken clock or file, not a date
        return None


def collect(platform: PlatformModule, src: Source, errors: Errors) -> OperatingSystem:
    """OS facts of ``src``; failures land in ``errors``."""
    return platform.operating_system(src, errors)
