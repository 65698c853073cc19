"""TLS as the agent meets it: the real server app under uvicorn with a certificate from a private CA.

Without ``--ca`` the agent refuses the unknown CA; with it, enrolment and delivery work, and keep working
after the CA file the officer brought is gone (the agent keeps its own copy).
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bench.topology import write_ca
from shared.protocol import HEALTH_PATH

from .helpers import free_port
from .realprocs import PYTHON, ROOT, Agent, RealServer, report_id_of, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[RealServer, str, Path]]:
    """The server app behind TLS (uvicorn terminating it, as a reverse proxy would): (server, url, ca.pem)."""
    real = RealServer(tmp_path)
    real.add_unit()
    ca, cert, key = write_ca(tmp_path)
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "uvicorn", "--factory", "server.main:app_from_env", "--host", "127.0.0.1", "--port",
         str(port), "--ssl-certfile", str(cert), "--ssl-keyfile", str(key), "--log-level", "warning"],
        env=real.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"https://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, "server exited"
        try:
            return requests.get(url + HEALTH_PATH, timeout=1, verify=str(ca)).ok
        except requests.RequestException:
            return False

    try:
        wait_for(healthy, what="the TLS server")
        yield real, url, ca
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def test_unknown_ca_is_refused_and_a_given_ca_is_trusted(tls_server: tuple[RealServer, str, Path],
                                                        agent: Agent) -> None:
    server, url, ca = tls_server
    refused = agent.run("enroll", "--server", url, "--token", server.token())
    assert refused.returncode == 4 and "tls" in refused.stderr
    assert not (agent.data_dir / "config.json").exists()

    done = agent.run("enroll", "--server", url, "--token", server.token(), "--ca", str(ca))
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr  # no plain-HTTP warning over TLS
    ca.unlink()  # the stick is gone; the agent's own copy of the CA remains
    report = agent.run("report")
    assert report.returncode == 0 and "delivered" in report.stdout, report.stdout + report.stderr
    assert server.received() == [report_id_of(report.stdout)]
    status = agent.status()
    assert status["plain_http"] is False and status["server"] == url
