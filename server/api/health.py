"""``GET /api/v1/health``: the process is up and its database answers (for proxies, monitors and agents)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from server import __version__
from server.api.deps import EngineDep
from shared.protocol import HEALTH_PATH

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)


def database_problem(engine: sa.engine.Engine) -> str | None:
    """None when the database answers ``SELECT 1``, else a one-line reason (no credentials in it)."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        log.warning("health: the database does not answer: %s", exc)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return f"{type(exc).__name__}: {reason[0] if reason else 'no detail'}"[:300]
    return None


@router.get(HEALTH_PATH, responses={503: {"description": "the database does not answer"}})
async def health(engine: EngineDep) -> JSONResponse:
    """200 ``{"status": "ok", "database": "ok"}``, or 503 with the database's reason."""
    problem = await run_in_threadpool(database_problem, engine)
    if problem is None:
        return JSONResponse({"status": "ok", "database": "ok", "version": __version__})
    return JSONResponse({"status": "unavailable", "database": problem, "version": __version__}, status_code=503)
