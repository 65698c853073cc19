"""Shared test fixtures: where PostgreSQL is, and the rule that CI never skips it."""

from __future__ import annotations

import os

import pytest

POSTGRES_URL = os.environ.get(
    "KIEMKE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_available(url: str = POSTGRES_URL) -> str | None:
    """None when PostgreSQL answers at ``url``, else the reason it does not."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - dev extra installs it
        return f"psycopg not installed: {exc}"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(plain, connect_timeout=3):
            return None
    except Exception as exc:
        return f"PostgreSQL not reachable at {url}: {exc}".splitlines()[0]


def require_postgres() -> str:
    """The PostgreSQL URL for a test; skip with the reason on a user's machine, fail under CI=true."""
    reason = postgres_available()
    if reason is None:
        return POSTGRES_URL
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true requires PostgreSQL: {reason}")
    pytest.skip(reason)
