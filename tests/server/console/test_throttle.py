"""Sign-in throttling that holds: counted in the database across two app instances (two replicas), forwarded
addresses believed only from trusted proxies, and a locked account that never blocks the others."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from ipaddress import ip_network
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server.config import Settings
from server.console.auth import client_address
from server.main import create_app
from server.services.users import create_user
from tests.server.console.conftest import csrf_of

PROXY = "10.9.0.2"
PASSWORD = "the-right-password-1"
WRONG = "wrong-password"
Replicas = Callable[..., tuple[TestClient, TestClient]]


@pytest.fixture
def replicas(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Replicas]:
    """Two app instances on the same database, as two server processes behind a load balancer."""
    create_user(engine, "admin", PASSWORD, "admin", None, actor="test")
    create_user(engine, "lan", PASSWORD, "viewer", None, actor="test")
    opened: list[TestClient] = []

    def make(peer: str = "203.0.113.7", proxies: str = "") -> tuple[TestClient, TestClient]:
        pair = []
        for _ in range(2):
            settings = Settings(environment="test", data_dir=tmp_path, database_url=database_url,
                                trusted_proxies=proxies)  # type: ignore[arg-type]  # parsed like the variable
            client = TestClient(create_app(settings), client=(peer, 4000), follow_redirects=False)
            client.__enter__()
            opened.append(client)
            pair.append(client)
        return pair[0], pair[1]

    yield make
    for client in opened:
        client.__exit__(None, None, None)
        client.app.state.engine.dispose()  # type: ignore[attr-defined]


def attempt(client: TestClient, username: str, password: str = WRONG, forwarded: str | None = None) -> int:
    """Post the sign-in form as a browser would; the status code."""
    form = client.get("/login")
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    response = client.post("/login", data={"username": username, "password": password, "csrf": csrf_of(form.text),
                                           "next": "/"}, headers=headers)
    client.cookies.clear()  # each attempt as a new visitor
    return int(response.status_code)


def test_client_address_believes_forwarded_only_from_trusted_proxies() -> None:
    trusted = (ip_network("10.9.0.0/24"),)
    assert client_address("203.0.113.7", "1.2.3.4", trusted) == "203.0.113.7"  # not a proxy: header ignored
    assert client_address(PROXY, "1.2.3.4", trusted) == "1.2.3.4"
    assert client_address(PROXY, "6.6.6.6, 1.2.3.4, 10.9.0.1", trusted) == "1.2.3.4"  # the client made up 6.6.6.6
    assert client_address(PROXY, None, trusted) == PROXY
    assert client_address(PROXY, "not-an-ip", trusted) == PROXY
    assert client_address(None, "1.2.3.4", trusted) == "unknown"


def test_rotating_x_forwarded_for_does_not_escape_the_limit(replicas: Replicas) -> None:
    first, second = replicas()
    for i in range(5):  # alternating replicas, a new forged address each time
        assert attempt((first, second)[i % 2], "admin", forwarded=f"198.51.100.{i}") == 401
    assert attempt(second, "admin", PASSWORD, forwarded="198.51.100.99") == 429
    assert attempt(first, "admin", PASSWORD) == 429  # the other replica counts the same failures
    assert attempt(first, "lan", PASSWORD) == 303  # a locked account never blocks the others


def test_behind_a_proxy_that_sets_no_header_one_account_locks_alone(replicas: Replicas) -> None:
    first, second = replicas(peer=PROXY, proxies="10.9.0.0/24")
    for i in range(20):
        assert attempt((first, second)[i % 2], "admin") in (401, 429)
    assert attempt(first, "admin", PASSWORD) == 429
    assert attempt(second, "lan", PASSWORD) == 303


def test_a_trusted_proxy_tells_clients_apart(replicas: Replicas) -> None:
    first, second = replicas(peer=PROXY, proxies="10.9.0.0/24")
    for _ in range(5):
        assert attempt(first, "admin", forwarded="198.51.100.1") == 401
    assert attempt(second, "admin", PASSWORD, forwarded="198.51.100.1") == 429
    assert attempt(second, "admin", PASSWORD, forwarded="198.51.100.2") == 303  # another client, same account
    for i in range(10):  # but ten failures from anywhere lock the account itself
        attempt(first, "admin", forwarded=f"192.0.2.{i}")
    assert attempt(first, "admin", PASSWORD, forwarded="192.0.2.200") == 429


def test_one_address_spraying_many_names_is_stopped(replicas: Replicas) -> None:
    first, second = replicas()
    for i in range(10):
        assert attempt((first, second)[i % 2], f"user{i}") == 401
    assert attempt(second, "lan", PASSWORD) == 429


def test_login_names_with_control_characters(replicas: Replicas) -> None:
    first, _ = replicas()
    assert attempt(first, "ad\x00min\x1b[2J") == 401  # refused and audited, not a server error
    assert attempt(first, "lan\x00", PASSWORD) == 303  # the cleaned name is the user's
