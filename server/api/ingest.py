"""Agent endpoints: enrol, deliver a report, heartbeat (health is in ``server/api/health.py``)."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Header, HTTPException, Request, Response, status
from pydantic import ValidationError
from sqlalchemy.engine import Connection
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from server.api.body import read_limited
from server.api.deps import EngineDep, SettingsDep
from server.api.responses import REPORT_BODY, errors
from server.db import reading, writing
from server.models import Agent, utcnow
from server.services.enrolment import EnrolmentError, authenticate, enroll, identify_for_report
from server.services.ingest import Delivery, ForeignMachine
from server.services.ingest_writer import IngestWriter
from server.services.records import audit
from server.services.validation import InvalidReport, describe, report_from_json
from shared.protocol import (
    ENROLL_PATH,
    HEARTBEAT_PATH,
    MAX_ENROLL_BYTES,
    REPORTS_PATH,
    EnrollRequest,
    EnrollResponse,
    IngestResponse,
    split_agent_key,
)

router = APIRouter(tags=["agents"])

AuthorizationHeader = Annotated[str | None, Header()]
_UNKNOWN_KEY = "agent key is unknown or revoked: enrol this agent again"


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def _bearer(authorization: str | None) -> str:
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise _unauthorized("missing agent key: send 'Authorization: Bearer <agent key>'")
    return key.strip()


def _live_agent(session: Session, key: str) -> Agent:
    agent = authenticate(session, key)
    if agent is None:
        raise _unauthorized(_UNKNOWN_KEY)
    return agent


_ENROLL_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": EnrollRequest.model_json_schema(ref_template="#/components/schemas/{model}")}}}}


@router.post(ENROLL_PATH, status_code=status.HTTP_201_CREATED, openapi_extra=_ENROLL_BODY,
             responses=errors(403, 413, 422))
async def enroll_agent(http: Request, engine: EngineDep, settings: SettingsDep) -> EnrollResponse:
    """Trade an enrolment token for this agent's own key (shown once).

    The body is read with a size bound and parsed by the wire type (bounded nesting, cleaned text), so a
    hostile body is a 413 or 422, never a server error.
    """
    body = await read_limited(http, MAX_ENROLL_BYTES)
    try:
        request = EnrollRequest.model_validate_json(body)
    except ValidationError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"request is not valid: {describe(exc)}") from exc
    return await run_in_threadpool(_enroll, engine, request, settings.report_interval_seconds)


def _enroll(engine: sa.engine.Engine, request: EnrollRequest, interval: int | None) -> EnrollResponse:
    try:
        with writing(engine) as session:
            return enroll(session, request, report_interval_seconds=interval)
    except EnrolmentError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except ValueError as exc:  # a public key that is not one
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


@router.post(
    REPORTS_PATH,
    responses={200: {"model": IngestResponse, "description": "Already received: nothing changed"},
               **errors(400, 401, 403, 413, 422)},
    status_code=status.HTTP_201_CREATED,
    openapi_extra=REPORT_BODY,
)
async def post_report(request: Request, response: Response) -> IngestResponse:
    """Deliver one report: 201 accepted, 200 duplicate (already received); nothing is half-written.

    The hot path of the server: it reads the app's state directly instead of through dependencies.
    """
    state = request.app.state
    key = _bearer(request.headers.get("authorization"))
    body = await read_limited(request, state.settings.max_report_bytes)
    try:
        report = report_from_json(body)
    except InvalidReport as exc:
        # A revoked agent must hear 401 (re-enrol), not 422 (set the report aside).
        await run_in_threadpool(_check_key, state.engine, key)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc

    def authorize(conn: Connection) -> Delivery:
        found = identify_for_report(conn, key, report.machine_id)
        if found is None:
            raise _unauthorized(_UNKNOWN_KEY)
        agent, device = found
        return Delivery(via="http", agent_id=agent.id, unit_id=agent.unit_id, agent_device_id=agent.device_id,
                        prefetched=device, agent_machine_id=agent.machine_id, enrolled_at=agent.enrolled_at)

    writer: IngestWriter = state.ingest_writer
    parts = split_agent_key(key)
    hint = (parts[0], report.machine_id) if parts else None
    try:
        result = await writer.ingest(report, authorize, hint)
    except ForeignMachine as exc:
        assert parts is not None  # only an authenticated agent gets this far
        await run_in_threadpool(_audit_refusal, state.engine, parts[0], report.machine_id, str(exc))
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    if result.status == "duplicate":
        response.status_code = status.HTTP_200_OK
    else:
        state.alerts.submit(result.device_id, result.stored)  # alert rules over the stored state, after the commit
    return IngestResponse(status=result.status, report_id=result.report_id, device_id=result.device_id)


def _audit_refusal(engine: sa.engine.Engine, agent_id: object, machine_id: str, reason: str) -> None:
    with writing(engine) as session:
        audit(session, f"agent:{agent_id}", "report.refused", utcnow(), machine_id=machine_id, reason=reason)


def _check_key(engine: sa.engine.Engine, key: str) -> None:
    with reading(engine) as session:
        _live_agent(session, key)


@router.post(HEARTBEAT_PATH, responses=errors(401, 422))
def heartbeat(engine: EngineDep, authorization: AuthorizationHeader = None) -> dict[str, str]:
    """Say the agent is alive between reports: one small update."""
    key = _bearer(authorization)
    now = utcnow()
    with writing(engine) as session:
        agent = _live_agent(session, key)
        agent.last_seen = now
        session.add(agent)
    return {"status": "ok", "server_time": now.isoformat()}

