"""``GET /metrics``: Prometheus text for operators, behind its own bearer token (``KIEMKE_METRICS_TOKEN``).

Two kinds of values, because replicas are separate processes:

- **per process** (this replica since it started; Prometheus tells replicas apart by the scraped target's
  ``instance`` label, so scrape each replica's own port, not the proxy): ``kiemke_reports_total`` by
  outcome and ``kiemke_ingest_seconds``, the time to answer a report;
- **global** (read from the database at scrape time, the same whichever replica answers):
  ``kiemke_agents_seen_last_day``, ``kiemke_agents_enrolled``, ``kiemke_devices`` by status and
  ``kiemke_kept_reports``.

Without a configured token the endpoint does not exist (404); a missing or wrong token gets 401.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from datetime import timedelta

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, HTTPException, Request, status
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.clock import utcnow
from server.models import Agent, Device, ReportSnapshot, table_of
from shared.protocol import REPORTS_PATH

METRICS_PATH = "/metrics"
router = APIRouter(tags=["operations"])

#: How a report delivery ended, by the HTTP status the agent got.
OUTCOMES = {201: "accepted", 200: "duplicate"}


class IngestMetrics:
    """This process's counters of report deliveries, in the app's own registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.reports = Counter("kiemke_reports", "Report deliveries answered by this process, by outcome "
                               "(accepted, duplicate, refused: any 4xx, failed: 5xx)", ["outcome"], registry=registry)
        self.latency = Histogram("kiemke_ingest_seconds", "Time this process took to answer a report delivery",
                                 registry=registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
        for outcome in ("accepted", "duplicate", "refused", "failed"):
            self.reports.labels(outcome)  # present at 0 from the start, so rates work at once

    def observe(self, code: int, seconds: float) -> None:
        """Count one answered delivery."""
        outcome = OUTCOMES.get(code) or ("refused" if 400 <= code < 500 else "failed")
        self.reports.labels(outcome).inc()
        self.latency.observe(seconds)


class DatabaseCollector(Collector):
    """Global figures read from the database at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        agent, device, kept = table_of(Agent), table_of(Device), table_of(ReportSnapshot)
        since = utcnow() - timedelta(days=1)
        live = agent.c.revoked_at.is_(None)
        with self.engine.connect() as conn:
            seen = conn.execute(sa.select(sa.func.count()).where(live, agent.c.last_seen >= since)).scalar_one()
            enrolled = conn.execute(sa.select(sa.func.count()).select_from(agent).where(live)).scalar_one()
            devices = conn.execute(sa.select(device.c.status, sa.func.count()).group_by(device.c.status)).all()
            reports = conn.execute(sa.select(sa.func.count()).select_from(kept)).scalar_one()
        yield GaugeMetricFamily("kiemke_agents_seen_last_day", "Enrolled agents heard from in the last 24 hours "
                                "(all replicas)", value=seen)
        yield GaugeMetricFamily("kiemke_agents_enrolled", "Enrolled agents not revoked (all replicas)",
                                value=enrolled)
        by_status = GaugeMetricFamily("kiemke_devices", "Devices in the inventory by status (all replicas)",
                                      labels=["status"])
        for name, count in sorted(devices):
            by_status.add_metric([name], count)
        yield by_status
        yield GaugeMetricFamily("kiemke_kept_reports", "Periodic reports kept in the database (all replicas)",
                                value=reports)


class _TimeReports:
    """ASGI middleware timing report deliveries only; every other request passes straight through."""

    def __init__(self, app: ASGIApp, metrics: IngestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != REPORTS_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        code = 500

        async def send_status(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.observe(code, time.perf_counter() - start)


def install_metrics(app: FastAPI) -> None:
    """Add ``/metrics`` and the report timing to ``app`` (its own registry: several apps may share a process)."""
    registry = CollectorRegistry()
    metrics = IngestMetrics(registry)
    registry.register(DatabaseCollector(app.state.engine))
    app.state.metrics_registry = registry
    app.add_middleware(_TimeReports, metrics=metrics)
    app.include_router(router)


def _check_token(request: Request) -> None:
    expected: str | None = request.app.state.settings.metrics_token
    if not expected:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "metrics need 'Authorization: Bearer <KIEMKE_METRICS_TOKEN>'",
                            headers={"WWW-Authenticate": "Bearer"})


@router.get(METRICS_PATH, include_in_schema=False)
async def metrics(request: Request) -> Response:
    """The Prometheus text exposition of this process and of the database."""
    _check_token(request)
    body = await run_in_threadpool(generate_latest, request.app.state.metrics_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
