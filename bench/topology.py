"""The deployment of deploy/ with real processes: a PostgreSQL database, N server replicas, nginx with TLS.

    with topology(database_url, work_dir, replicas=2) as topo:
        topo.url   # https://127.0.0.1:PORT, nginx in front of the replicas
        topo.ca    # the private CA that signed nginx's certificate (give it to agents with --ca)

nginx runs ``deploy/nginx/kiemke.conf.template`` (the documented file), rendered with the replicas' ports
and the generated certificate, inside a minimal main configuration of its own (pid, logs and temporary
files in ``work_dir``). Replicas are ``kiemke-server serve`` processes (or a uvicorn ``factory`` such as
``bench.ingest:bench_app``, which adds a trivial endpoint for baselines) on the same database. The caller
makes and drops the database. Used by tests/deploy/test_topology.py and bench/replicas.py.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from string import Template

from bench.harness import ROOT, free_port

TEMPLATE = ROOT / "deploy" / "nginx" / "kiemke.conf.template"
HEALTH = "/api/v1/health"

_MAIN_CONF = """\
daemon off;
master_process on;
worker_processes {workers};
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {work}/access.log;
    client_body_temp_path {work}/tmp/body;
    proxy_temp_path {work}/tmp/proxy;
    include {work}/kiemke.conf;
}}
"""


def nginx_binary() -> str | None:
    """nginx from the system's packages, if installed."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def write_ca(folder: Path, name: str = "kiemke test CA") -> tuple[Path, Path, Path]:
    """A private CA and a certificate for 127.0.0.1 and localhost signed by it: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


def render_nginx_site(ports: list[int], listen: int, cert: Path, key: Path) -> str:
    """deploy/nginx/kiemke.conf.template with these replicas, port and certificate, as envsubst would."""
    values = {
        "KIEMKE_UPSTREAM_SERVERS": " ".join(f"server 127.0.0.1:{p};" for p in ports),
        "KIEMKE_LISTEN": str(listen),
        "KIEMKE_SERVER_NAME": "127.0.0.1 localhost",
        "KIEMKE_TLS_CERT": str(cert),
        "KIEMKE_TLS_KEY": str(key),
    }
    text = Template(TEMPLATE.read_text(encoding="utf-8")).safe_substitute(values)  # nginx's own $vars stay
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    left = re.findall(r"\$\{KIEMKE_\w+\}", body)
    if left:
        raise ValueError(f"the nginx template uses values the harness does not give: {left}")
    return text


def _wait(check: object, what: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        if check():  # type: ignore[operator]
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _answers(url: str, context: ssl.SSLContext | None = None) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as answer:  # noqa: S310 - our own URL
            return bool(answer.status == 200)
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Topology:
    """A running deployment: the proxy's URL, the CA to trust, the replicas' own URLs and logs."""

    url: str
    ca: Path
    database_url: str
    env: dict[str, str]
    replica_urls: list[str] = field(default_factory=list)
    replica_logs: list[Path] = field(default_factory=list)
    metrics_token: str = ""

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """``kiemke-server ARGS`` against the deployment's database."""
        return subprocess.run([sys.executable, "-m", "server", *args], env=self.env, cwd=ROOT, input=stdin,
                              capture_output=True, text=True, timeout=300, check=False)


@contextmanager
def topology(database_url: str, work: Path, replicas: int = 2, *, factory: str | None = None,
             log_requests: bool = True, nginx_workers: int = 1,
             env: Mapping[str, str] | None = None) -> Iterator[Topology]:
    """Start the replicas on ``database_url`` and nginx in front of them; stop everything on exit."""
    nginx = nginx_binary()
    if nginx is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx-light)")
    work.mkdir(parents=True, exist_ok=True)
    ca, cert, key = write_ca(work / "tls")
    token = secrets.token_urlsafe(24)
    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KIEMKE_DATABASE_URL")}
    base_env.update({
        "DATABASE_URL": database_url, "KIEMKE_ENV": "production", "KIEMKE_SECRET_KEY": secrets.token_hex(32),
        "KIEMKE_METRICS_TOKEN": token, "KIEMKE_DATA_DIR": str(work / "data"), "KIEMKE_SCHEDULER": "false",
        "PYTHONPATH": str(ROOT),
    })
    base_env.update(env or {})
    topo = Topology(url="", ca=ca, database_url=database_url, env=base_env, metrics_token=token)
    migrated = topo.cli("db", "upgrade")  # once, before the replicas start
    if migrated.returncode != 0:
        raise RuntimeError(f"db upgrade failed: {migrated.stderr}")
    level = "info" if log_requests else "warning"
    with ExitStack() as stack:
        ports = [free_port() for _ in range(replicas)]
        started = []
        for index, port in enumerate(ports):  # all at once: they start in parallel
            log_path = work / f"replica-{index}.log"
            if factory is None:
                command = [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port),
                           "--log-level", level]
            else:
                command = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port",
                           str(port), "--log-level", level, *([] if log_requests else ["--no-access-log"])]
            with log_path.open("ab") as log:
                process = subprocess.Popen(command, env=base_env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            stack.callback(_stop, process)
            started.append(process)
            topo.replica_urls.append(f"http://127.0.0.1:{port}")
            topo.replica_logs.append(log_path)
        for index, (process, url) in enumerate(zip(started, topo.replica_urls, strict=True)):
            _wait(lambda url=url: _answers(url + HEALTH), f"replica {index}", process)

        proxy_dir = work / "nginx"
        (proxy_dir / "tmp").mkdir(parents=True, exist_ok=True)
        listen = free_port()
        (proxy_dir / "kiemke.conf").write_text(render_nginx_site(ports, listen, cert, key), encoding="utf-8")
        main_conf = proxy_dir / "nginx.conf"
        main_conf.write_text(_MAIN_CONF.format(work=proxy_dir, workers=nginx_workers), encoding="utf-8")
        with (proxy_dir / "stderr.log").open("ab") as log:
            proxy = subprocess.Popen([nginx, "-e", str(proxy_dir / "error.log"), "-p", str(proxy_dir), "-c",
                                      str(main_conf)], stdout=log, stderr=subprocess.STDOUT)
        stack.callback(_stop, proxy, signal.SIGQUIT)  # graceful: finish the requests in flight
        topo.url = f"https://127.0.0.1:{listen}"
        trust = ssl.create_default_context(cafile=str(ca))
        _wait(lambda: _answers(topo.url + HEALTH, trust), "nginx", proxy)
        yield topo


