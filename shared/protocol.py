"""The HTTP protocol between agent and server, beside the report contract in ``schema.py``.

Paths live under ``/api/v1``. An agent authenticates with ``Authorization: Bearer <agent_key>``, where the
key is ``kk_<agent_id>_<secret>``: the server looks the agent up by id and compares a hash of the secret, so
it never stores the key itself. Air-gapped bundles are signed with the agent's Ed25519 private key; the
server keeps only the public key.

Status codes the agent acts on (see ``agent/spool.py``):
- 2xx: delivered (``accepted``) or already had it (``duplicate``): remove from the spool.
- 401/403: the key is unknown or revoked: keep the report, stop sending, tell the user to re-enrol.
- 413, 422, other 4xx: this report will never be accepted: set it aside with the reason.
- 5xx, connection errors, TLS errors, timeouts: keep it and retry later with backoff.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from shared.schema import MachineId, Text

API_PREFIX = "/api/v1"
ENROLL_PATH = f"{API_PREFIX}/enroll"
REPORTS_PATH = f"{API_PREFIX}/reports"
HEARTBEAT_PATH = f"{API_PREFIX}/heartbeat"
HEALTH_PATH = f"{API_PREFIX}/health"

#: Default upper bound of one report body; the server answers 413 above its configured limit.
MAX_REPORT_BYTES = 1_048_576
#: Upper bound of an enrolment request body (a token, a machine id, a hostname and a public key).
MAX_ENROLL_BYTES = 16_384

AGENT_KEY_PREFIX = "kk"


class EnrollRequest(BaseModel):
    """Trade a unit's enrolment token for this agent's own credentials."""

    token: str = Field(min_length=8, max_length=256, description="Enrolment token made by the officer")
    machine_id: MachineId = Field(description="The agent's stable machine id: its reports must carry this one")
    hostname: Text | None = Field(None, description="Computer name, for the officer")
    public_key: str | None = Field(
        None, max_length=256, description="Base64 raw Ed25519 public key used to verify air-gapped bundles"
    )


class EnrollResponse(BaseModel):
    """The agent's credentials; the key is shown once and stored hashed by the server."""

    agent_id: uuid.UUID
    agent_key: str = Field(description="Bearer key 'kk_<agent_id>_<secret>'")
    unit_code: str
    report_interval_seconds: int | None = Field(None, description="Server's suggested collection interval")


class IngestResponse(BaseModel):
    """Answer to ``POST /api/v1/reports``."""

    status: Literal["accepted", "duplicate"]
    report_id: uuid.UUID
    device_id: int | None = None


class ErrorResponse(BaseModel):
    """Every error body: a readable message."""

    detail: str | list[dict[str, object]]


def split_agent_key(key: str) -> tuple[uuid.UUID, str] | None:
    """Split ``kk_<agent_id>_<secret>`` into its id and secret; None when it is not of that shape."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != AGENT_KEY_PREFIX or not parts[2]:
        return None
    try:
        return uuid.UUID(parts[1]), parts[2]
    except ValueError:
        return None
