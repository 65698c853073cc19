"""The web application: ``create_app(settings)`` builds it, ``app`` is built from the environment."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from server import __version__
from server.api import health, ingest, report
from server.api.metrics import install_metrics
from server.config import Settings
from server.console.views import install_console
from server.db import open_database
from server.jobs import start_scheduler
from server.services.ingest_writer import IngestWriter

log = logging.getLogger(__name__)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    readable = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10])
    return JSONResponse({"detail": f"request is not valid: {readable}"}, status_code=422)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal server error: see the server log"}, status_code=500)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API for ``settings`` (default: from the environment), its database created or upgraded."""
    settings = settings or Settings.from_env()
    engine = open_database(settings.url)
    ingest_writer = IngestWriter(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ingest_writer.start()
        # Every replica schedules the report snapshots; a claimed (job, date) row lets only one run each.
        jobs = start_scheduler(engine, settings) if settings.scheduler and settings.environment != "test" else None
        yield
        if jobs is not None:
            jobs.shutdown(wait=False)
        ingest_writer.stop()  # answer what is queued before the process exits

    app = FastAPI(title="kiemke", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.ingest_writer = ingest_writer
    app.include_router(ingest.router)
    app.include_router(report.router)
    app.include_router(health.router)
    install_metrics(app)
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(status.HTTP_500_INTERNAL_SERVER_ERROR, _unexpected)
    install_console(app)  # after the API's handlers: it keeps them for /api/ and answers pages itself
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory server.main:app_from_env``."""
    return create_app(Settings.from_env())
