"""Fixtures for the agent service tests: a real server process and agents driven as real processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .realprocs import Agent, RealServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RealServer]:
    """The kiemke server, started, on a free loopback port; stopped at the end."""
    real = RealServer(tmp_path)
    real.start()
    try:
        yield real
    finally:
        real.stop()


@pytest.fixture
def agent(tmp_path: Path) -> Agent:
    """An agent data directory (not enrolled yet)."""
    return Agent(tmp_path / "agent")
