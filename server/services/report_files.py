"""Importing report files carried by hand from air-gapped PCs: signed bundles and plain report files.

A bundle must verify with the public key its agent registered; a tampered bundle is refused whole. A plain
report file (``kiemke-agent collect --out``) carries no signature, so it is accepted only when the officer
names its unit, and is marked unsigned. Each report then goes through the same validation and
de-duplication as ``POST /api/v1/reports``, and is marked as delivered by import, which the figures read as
"air-gapped", never as "not connected".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from server.db import reading, writing
from server.models import Agent, utcnow
from server.services.ingest import Delivery, ForeignMachine, UnplacedDevice, receive
from server.services.records import audit, unit_by_code
from server.services.validation import InvalidReport, report_from_dict
from shared.bundle import BundleError, bundle_agent_id, is_bundle, verify_bundle
from shared.schema import load_json

MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass
class FileResult:
    """What became of one file."""

    path: str
    imported: int = 0
    duplicate: int = 0
    refused: int = 0
    signed: bool = False
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        """For ``--json``."""
        return {"file": self.path, "imported": self.imported, "duplicate": self.duplicate, "refused": self.refused,
                "signed": self.signed, "problems": list(self.problems)}


def expand(paths: list[Path]) -> list[Path]:
    """Files named, with directories replaced by the ``*.json`` files in them."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    return files


def _bundle_reports(engine: Engine, payload: dict[str, Any], result: FileResult) -> tuple[list[Any], Delivery]:
    agent_id = bundle_agent_id(payload)
    with reading(engine) as session:
        agent = session.get(Agent, agent_id)
    if agent is None:
        raise BundleError(f"bundle is from agent {agent_id}, which this server does not know")
    if agent.revoked_at is not None:
        raise BundleError(f"bundle is from agent {agent_id}, whose key was revoked")
    if not agent.public_key:
        raise BundleError(f"agent {agent_id} registered no signing key: export a plain file and use --unit")
    reports = verify_bundle(payload, agent.public_key)
    result.signed = True
    # A bundle is signed by one agent's key: it writes that agent's device only, by the server's clock.
    return reports, Delivery(via="import", agent_id=agent.id, unit_id=agent.unit_id,
                             agent_device_id=agent.device_id, signed=True, agent_machine_id=agent.machine_id,
                             enrolled_at=agent.created_at)


def import_file(engine: Engine, path: Path, *, unit_code: str | None, actor: str) -> FileResult:
    """Import one file; every refusal is explained in ``problems``."""
    result = FileResult(str(path))
    try:
        raw = path.read_bytes() if path.stat().st_size <= MAX_FILE_BYTES else None
        if raw is None:
            raise ValueError(f"larger than {MAX_FILE_BYTES // 2**20} MiB")
        payload = load_json(raw)  # bounded nesting: a hostile file is refused, never a RecursionError
    except (OSError, ValueError) as exc:
        result.refused, result.problems = 1, [f"cannot read a JSON document: {exc}"]
        return result
    try:
        if is_bundle(payload):
            reports, delivery = _bundle_reports(engine, payload, result)
        else:
            reports = payload if isinstance(payload, list) else [payload]
            delivery = _plain_delivery(engine, unit_code)
    except (BundleError, InvalidReport) as exc:
        result.refused = len(payload.get("reports") or []) if isinstance(payload, dict) else 1
        result.refused = max(result.refused, 1)
        result.problems.append(str(exc))
        _audit(engine, path, raw, result, actor)
        return result
    delivery = replace(delivery, imported_by=actor)
    for index, data in enumerate(reports, start=1):
        try:
            outcome = receive(engine, report_from_dict(data), lambda _session: delivery)
        except (InvalidReport, UnplacedDevice, ForeignMachine) as exc:
            result.refused += 1
            result.problems.append(f"report {index}: {exc}")
            continue
        if outcome.status == "accepted":
            result.imported += 1
        else:
            result.duplicate += 1
    _audit(engine, path, raw, result, actor)
    return result


def _plain_delivery(engine: Engine, unit_code: str | None) -> Delivery:
    if unit_code is None:
        raise InvalidReport("an unsigned report file is accepted only with --unit CODE (the unit of that PC)")
    with reading(engine) as session:
        unit = unit_by_code(session, unit_code)
    if unit is None:
        raise InvalidReport(f"unknown unit {unit_code!r}")
    return Delivery(via="import", unit_id=unit.id, signed=False)


def _audit(engine: Engine, path: Path, raw: bytes, result: FileResult, actor: str) -> None:
    with writing(engine) as session:
        _record(session, path, raw, result, actor)


def _record(session: Session, path: Path, raw: bytes, result: FileResult, actor: str) -> None:
    audit(session, actor, "reports.import", utcnow(), file=str(path), sha256=hashlib.sha256(raw).hexdigest(),
          **{k: v for k, v in result.as_json().items() if k != "file"})
