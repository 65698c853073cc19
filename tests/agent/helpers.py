"""Helpers the agent tests share: the captured replay folders, small real servers, report factories."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from shared.schema import InventoryReport

#: Test data: golden reports, and under ``replay/`` captured raw outputs of real machines, one folder each.
DATA = Path(__file__).resolve().parents[1] / "data"
REPLAY = DATA / "replay"


def replay(folder: str) -> InventoryReport:
    """The report replay makes of one folder under tests/data/replay."""
    from agent.collect import collect_report

    return collect_report(replay=REPLAY / folder)


def make_report(machine_id: str = "test-machine", hostname: str = "pc-01") -> InventoryReport:
    """A minimal valid report, as a collection would produce."""
    return InventoryReport(
        machine_id=machine_id, hostname=hostname, platform="linux", collected_at=datetime.now(timezone.utc)
    )


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ScriptedServer:
    """A real HTTP server on loopback that answers each request with the next scripted status code.

    Used where the real kiemke server cannot be made to fail on demand (500, 413, 401). 2xx answers carry
    ``{"status": "accepted", "report_id": ...}`` like the real one. Every request is recorded.
    """

    def __init__(self, statuses: list[int], default: int = 200) -> None:
        self.statuses = list(statuses)
        self.default = default
        self.requests: list[tuple[str, int, dict[str, object]]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                with outer.lock:
                    status = outer.statuses.pop(0) if outer.statuses else outer.default
                    outer.requests.append((self.path, status, body))
                payload: dict[str, object]
                if 200 <= status < 300:
                    payload = {"status": "accepted", "report_id": str(body.get("report_id", uuid.uuid4()))}
                else:
                    payload = {"detail": f"scripted {status}"}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output quiet

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def report_posts(self) -> list[tuple[int, dict[str, object]]]:
        """(status answered, body) of every POST to the reports path."""
        with self.lock:
            return [(status, body) for path, status, body in self.requests if path.endswith("/reports")]


@contextmanager
def scripted_server(statuses: list[int], default: int = 200) -> Iterator[ScriptedServer]:
    """Run a ScriptedServer in a thread for the duration of the block."""
    server = ScriptedServer(statuses, default)
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
