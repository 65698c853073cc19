"""Turning bytes or parsed JSON into an ``InventoryReport``, with messages a person can act on."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from shared.schema import ACCEPTED_SCHEMA_VERSIONS, InventoryReport, load_json

ACCEPTED = ", ".join(str(v) for v in sorted(ACCEPTED_SCHEMA_VERSIONS))


class InvalidReport(ValueError):
    """A report this server will never accept; the message says why."""


def describe(error: ValidationError, limit: int = 10) -> str:
    """A validation error as one readable line: ``field.path: message; ...``."""
    parts = []
    for item in error.errors()[:limit]:
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    more = error.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _unsupported(version: object) -> InvalidReport:
    return InvalidReport(f"schema_version {version} is not supported: this server accepts {ACCEPTED}")


def _checked(report: InventoryReport) -> InventoryReport:
    if report.schema_version not in ACCEPTED_SCHEMA_VERSIONS:
        raise _unsupported(report.schema_version)
    return report


def _version_of(data: Any) -> object:
    return data.get("schema_version") if isinstance(data, dict) else None


def report_from_json(body: bytes | str) -> InventoryReport:
    """The report in a JSON body; InvalidReport when it is malformed, invalid or of an unsupported version."""
    try:
        return _checked(InventoryReport.model_validate_json(body))
    except ValidationError as exc:
        # Only on the error path: parse again to tell "too new / too old" from "broken".
        try:
            version = _version_of(load_json(body))  # bounded: a 1,000-deep body is a ValueError here
        except ValueError:
            version = None
        if isinstance(version, int) and version not in ACCEPTED_SCHEMA_VERSIONS:
            raise _unsupported(version) from exc
        raise InvalidReport(f"report is not valid: {describe(exc)}") from exc


def report_from_dict(data: Any) -> InventoryReport:
    """The report in already parsed JSON (a bundle's entry); InvalidReport otherwise."""
    version = _version_of(data)
    if isinstance(version, int) and version not in ACCEPTED_SCHEMA_VERSIONS:
        raise _unsupported(version)
    try:
        return _checked(InventoryReport.model_validate(data))
    except ValidationError as exc:
        raise InvalidReport(f"report is not valid: {describe(exc)}") from exc
