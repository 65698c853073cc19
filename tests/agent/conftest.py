"""Fixtures shared by the agent tests: loopback ports, a real server process, an agent data directory."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import free_port
from .realprocs import Agent, RealServer


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A loopback port that accepts connections."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    return free_port()


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
