"""What the server benchmarks share: a scratch database, the bench server process, enrolled agents and their
report bodies, and a minimal asyncio HTTP/1.1 keep-alive client.

Used by bench/ingest.py, load.py, province.py, replicas.py, console.py and topology.py. The server process
runs ``bench.ingest:bench_app``: the real app plus ``POST /bench/validate``, the trivial baseline endpoint.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_PATH = "/bench/validate"
REPORTS = "/api/v1/reports"
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)
ENROLLED = T0 - timedelta(days=1)
DEFAULT_POSTGRES = os.environ.get("KIEMKE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# --- databases and processes ----------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 60) -> None:
    """Return once something listens on the loopback ``port``; exit the benchmark after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


@contextmanager
def scratch_postgres(base_url: str, template: str | None = None, prefix: str = "kiemke_bench") -> Iterator[str]:
    """A new, uniquely named PostgreSQL database next to ``base_url``'s (a copy of ``template``'s database when
    given, which must then have no open connection); dropped after. The tests make theirs with it too."""
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{sa.engine.make_url(template).database}"' if template else ""
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
        try:
            yield base_url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextmanager
def scratch_database(engine: str, postgres_base: str = DEFAULT_POSTGRES) -> Iterator[str]:
    """The URL of an empty database of ``engine`` (``sqlite`` or ``postgresql``), removed afterwards."""
    if engine == "postgresql":
        with scratch_postgres(postgres_base) as url:
            yield url
        return
    folder = tempfile.mkdtemp(prefix="kiemke-bench-")
    try:
        yield f"sqlite:///{folder}/kiemke.db"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def bench_server(url: str, *uvicorn_args: str) -> Iterator[int]:
    """``bench.ingest:bench_app`` under uvicorn on ``url``'s database; yields its port once it listens."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "KIEMKE_DATABASE_URL": url, "KIEMKE_DATA_DIR": data_dir, "KIEMKE_ENV": "test"}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "bench.ingest:bench_app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log", *uvicorn_args],
            cwd=ROOT, env=env,
        )
        try:
            wait_for_port(port)
            yield port
        finally:
            server.terminate()
            server.wait(timeout=60)


# --- agents and reports ---------------------------------------------------------------------------------------


def prepare_agents(url: str, agents: int) -> list[tuple[str, Any]]:
    """Units, enrolled agents, and each agent's PC from the demo fleet: [(key, simulated pc)]."""
    from server.db import open_database, writing
    from server.demo import fleet
    from server.models import OrgUnit
    from server.services.enrolment import create_token, enroll
    from server.services.records import save_unit, unit_by_code
    from shared.protocol import EnrollRequest

    engine = open_database(url)
    pcs = fleet.fleet()[:agents]
    with writing(engine) as session:
        for code in sorted({pc.unit_code for pc in pcs}):
            save_unit(session, OrgUnit(code=code, name=code, kind="other"), T0 - timedelta(days=1))
    pairs = []
    tokens: dict[str, str] = {}
    for pc in pcs:
        with writing(engine) as session:
            if pc.unit_code not in tokens:
                assert unit_by_code(session, pc.unit_code) is not None
                tokens[pc.unit_code] = create_token(session, pc.unit_code, days=1, actor="bench", now=ENROLLED)[0]
            # Enrolled before the reports' times: the server believes no report collected before enrolment.
            response = enroll(session, EnrollRequest(token=tokens[pc.unit_code], machine_id=pc.machine_id),
                              now=ENROLLED)
        pairs.append((response.agent_key, pc))
    engine.dispose()
    return pairs


def report_bodies(pairs: list[tuple[str, Any]], rounds: int, start: datetime, *, changed: bool,
                  base: datetime = T0) -> list[tuple[str, bytes]]:
    """Report bodies: ``changed`` ones carry fresh antivirus signatures; the others repeat the facts of the
    report made at ``base`` with a new report id and time."""
    from server.demo import fleet

    out = []
    for r in range(rounds):
        at = start + timedelta(minutes=r)
        for key, pc in pairs:
            if changed:
                report = fleet.report_at(pc, at)
            else:
                report = fleet.report_at(pc, base).model_copy(update={"report_id": uuid.uuid4(), "collected_at": at})
            out.append((key, report.model_dump_json().encode()))
    return out


# --- the client -----------------------------------------------------------------------------------------------


def post(host: str, path: str, key: str, body: bytes) -> bytes:
    """One HTTP/1.1 POST of a JSON body with an agent's key, ready to write on a keep-alive connection."""
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def answer_status(reader: asyncio.StreamReader) -> int:
    """Read one answer (status line, headers, body) and return its status code; 0 when the server closed."""
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1]) if status_line else 0


async def send_queue(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, queue: list[bytes],
                     statuses: list[int]) -> None:
    """Send requests taken from ``queue`` one after another on one connection, noting each answer's status."""
    try:
        while queue:
            writer.write(queue.pop())
            await writer.drain()
            statuses.append(await answer_status(reader))
    finally:
        writer.close()


def publish(text: str, out: Path | None) -> None:
    """Print a benchmark's Markdown result and, with ``--out``, append it to that file."""
    print(text)
    if out is not None:
        with out.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text + "\n")
