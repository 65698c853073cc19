"""The web application: ``create_app(settings)`` builds it, ``app`` is built from the environment."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import __version__
from server.alerts.arrival import AlertQueue
from server.api import devices, figures, health, ingest, report, units
from server.api.metrics import install_metrics
from server.config import Settings
from server.console.views import install_console
from server.db import open_database
from server.jobs import start_scheduler
from server.services.ingest_writer import IngestWriter
from server.services.policy import Policy
from shared.schema import InventoryReport

log = logging.getLogger(__name__)

#: On every answer (API JSON, downloads, console pages, errors); a header a route already set is kept.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",  # figures, keys and reports must not stay in a shared or browser cache
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
#: Public, unchanging files a browser may keep (the console's stylesheet): not ``no-store``.
CACHEABLE_PREFIX = "/static/"


class SecurityHeaders:
    """ASGI middleware adding ``SECURITY_HEADERS`` to every HTTP answer, without overriding a route's own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope.get("path", "")).startswith(CACHEABLE_PREFIX)

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if not (cacheable and name == "Cache-Control"):
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_hardened)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    readable = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10])
    return JSONResponse({"detail": f"request is not valid: {readable}"}, status_code=422)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    # Answered outside the middleware stack (Starlette's outermost layer), so the headers are set here.
    return JSONResponse({"detail": "internal server error: see the server log"}, status_code=500,
                        headers=SECURITY_HEADERS)


def _document_report_body(app: FastAPI) -> None:
    """Add ``InventoryReport`` (the body ``POST /api/v1/reports`` reads itself) to the OpenAPI components."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            body = InventoryReport.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, schema in {**body.pop("$defs", {}), "InventoryReport": body}.items():
                schemas.setdefault(name, schema)
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API for ``settings`` (default: from the environment), its database created or upgraded."""
    settings = settings or Settings.from_env()
    engine = open_database(settings.url)
    ingest_writer = IngestWriter(engine)
    alerts = AlertQueue(engine, Policy.from_settings(settings), settings.tz)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ingest_writer.start()
        alerts.start()
        # Every replica schedules the report snapshots; a claimed (job, date) row lets only one run each.
        jobs = start_scheduler(engine, settings) if settings.scheduler and settings.environment != "test" else None
        yield
        if jobs is not None:
            jobs.shutdown(wait=False)
        ingest_writer.stop()  # answer what is queued before the process exits
        alerts.stop()  # evaluate the devices of the last reports

    app = FastAPI(title="kiemke", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.ingest_writer = ingest_writer
    app.state.alerts = alerts  # the devices of stored reports, evaluated after the commit
    app.include_router(ingest.router)
    app.include_router(report.router)
    app.include_router(health.router)
    for read in (devices.router, units.router, figures.router):  # the read API (personal API tokens)
        app.include_router(read)
    install_metrics(app)
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(status.HTTP_500_INTERNAL_SERVER_ERROR, _unexpected)
    app.add_middleware(SecurityHeaders)
    _document_report_body(app)
    install_console(app)  # after the API's handlers: it keeps them for /api/ and answers pages itself
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory server.main:app_from_env``."""
    return create_app(Settings.from_env())
