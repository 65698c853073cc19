"""TLS as the agent meets it: the real server app under uvicorn with a certificate from a private CA.

Without ``--ca`` the agent refuses the unknown CA; with it, enrolment and delivery work, and keep working
after the CA file the officer brought is gone (the agent keeps its own copy).
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from shared.protocol import HEALTH_PATH

from .helpers import free_port
from .realprocs import PYTHON, ROOT, Agent, RealServer, report_id_of, wait_for

pytestmark = pytest.mark.slow


def _write_ca_and_server_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and a certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kiemke test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[RealServer, str, Path]]:
    """The server app behind TLS (uvicorn terminating it, as a reverse proxy would): (server, url, ca.pem)."""
    real = RealServer(tmp_path)
    real.add_unit()
    ca, cert, key = _write_ca_and_server_cert(tmp_path)
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
