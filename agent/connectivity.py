"""The bounded connectivity check: TCP connects to the public target and the server, beside the collectors.

It starts before the collectors and is read after them, so the report waits at most ``CHECK_BUDGET_S`` in all.
"""

from __future__ import annotations

import enum
import os
import socket
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from urllib.parse import urlsplit

from shared.schema import InternetCheck

#: The public host checked when nothing else is configured; override with ``KIEMKE_PUBLIC_TARGET``.
DEFAULT_PUBLIC_TARGET = "1.1.1.1:443"
#: The whole connectivity check never takes longer than this.
CHECK_BUDGET_S = 2.0
#: Environment variable that replaces the default public connectivity target; empty or "none" disables it.
PUBLIC_TARGET_ENV = "KIEMKE_PUBLIC_TARGET"


def split_target(target: str) -> tuple[str, int]:
    """(host, port) from ``host:port``, ``[v6]:port``, a bare host (port 443) or an http(s) URL."""
    text = target.strip()
    if "://" in text:
        url = urlsplit(text)
        if not url.hostname:
            raise ValueError(f"no host in {target!r}")
        return url.hostname, url.port or (80 if url.scheme == "http" else 443)
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest.lstrip(":") or 443)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    if not text:
        raise ValueError("empty target")
    return text, 443


class ConnectivityCheck:
    """TCP connects to every target at once, started now and read later; never longer than the budget.

    Each target gets its own daemon thread so that a slow DNS lookup cannot hold the report back: the
    result is read with whatever is left of the budget, and unfinished attempts are simply abandoned.
    """

    def __init__(self, targets: Sequence[str], budget_s: float = CHECK_BUDGET_S) -> None:
        self.targets = [t for t in dict.fromkeys(t.strip() for t in targets) if t]
        self.budget_s = budget_s
        self._started = time.monotonic()
        self._checked_at = datetime.now(timezone.utc)
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._results: dict[str, float | None] = {}
        self._winner: tuple[str, float] | None = None
        for target in self.targets:
            threading.Thread(target=self._try, args=(target,), name=f"connect {target}", daemon=True).start()
        if not self.targets:
            self._done.set()

    def _try(self, target: str) -> None:
        latency: float | None = None
        try:
            host, port = split_target(target)
            remaining = max(0.05, self.budget_s - (time.monotonic() - self._started))
            begin = time.monotonic()
            # An ASCII host goes to getaddrinfo as bytes: a str would load the IDNA codec (and unicodedata),
            # a megabyte of memory for nothing.
            with socket.create_connection((host.encode("ascii") if host.isascii() else host, port),  # type: ignore[arg-type]
                                          timeout=remaining):
                latency = (time.monotonic() - begin) * 1000.0
        except (OSError, ValueError):
            latency = None
        with self._lock:
            self._results[target] = latency
            if latency is not None and self._winner is None:
                self._winner = (target, latency)
            if self._winner is not None or len(self._results) == len(self.targets):
                self._done.set()

    def result(self) -> InternetCheck:
        """Wait for the first answer (or all failures) within what is left of the budget."""
        if not self.targets:
            return InternetCheck()
        self._done.wait(max(0.0, self.budget_s - (time.monotonic() - self._started)))
        with self._lock:
            if self._winner is not None:
                target, latency = self._winner
                return InternetCheck(
                    reachable=True, latency_ms=round(latency, 1), target=target, checked_at=self._checked_at
                )
            return InternetCheck(reachable=False, target=self.targets[-1], checked_at=self._checked_at)


class Configured(enum.Enum):
    """Marker: use the public target from the environment or the built-in default."""

    TARGET = "configured"


CONFIGURED = Configured.TARGET


def parse_public_target(value: str) -> str | None:
    """A public target as written by a person: ``host:port``, or None when empty, 'none' or 'off'."""
    value = value.strip()
    return None if value.lower() in ("", "none", "off") else value


def configured_public_target() -> str | None:
    """``KIEMKE_PUBLIC_TARGET`` if set (empty or 'none' turns the public check off), else the default."""
    value = os.environ.get(PUBLIC_TARGET_ENV)
    return DEFAULT_PUBLIC_TARGET if value is None else parse_public_target(value)


def connectivity_targets(targets: Sequence[str] | None, public_target: str | Configured | None) -> list[str]:
    """The public target (unless turned off) followed by the given ones, without repeats."""
    public = configured_public_target() if public_target is CONFIGURED else public_target
    wanted = [*([public] if isinstance(public, str) and public else []), *(targets or [])]
    return list(dict.fromkeys(t.strip() for t in wanted if t and t.strip()))
