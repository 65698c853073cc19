"""The answers each API route documents in the OpenAPI besides its success: ``responses=`` of the decorators.

Every error body is ``{"detail": "<readable message>"}`` (``server.main`` shapes them all, validation errors
included), so each status code below names ``ErrorResponse``; the fuzz tests hold the served document to
what the routes really answer.
"""

from __future__ import annotations

from typing import Any

from server.report import MEDIA_TYPES, Format
from shared.protocol import ErrorResponse

_WHY = {
    400: "The request cannot be read (a Content-Length that is not a number)",
    401: "No credentials, or credentials that are unknown, expired or revoked",
    403: "The credentials are valid but do not reach this resource",
    404: "The unit or report named does not exist",
    409: "The request conflicts with the stored state",
    413: "The body is larger than the server accepts",
    422: "A parameter or the body is not valid",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the error status codes a route answers."""
    return {code: {"model": ErrorResponse, "description": _WHY[code]} for code in codes}


def files(*formats: Format, description: str) -> dict[int | str, dict[str, Any]]:
    """A 200 answer whose body is one of the report's ``formats``, by media type."""
    schemas: dict[Format, dict[str, str]] = {
        "json": {"type": "object"}, "docx": {"type": "string", "format": "binary"}}
    content = {MEDIA_TYPES[fmt].split(";")[0]: {"schema": schemas.get(fmt, {"type": "string"})} for fmt in formats}
    return {200: {"description": description, "content": content}}

#: ``openapi_extra`` of ``POST /api/v1/reports``: the route reads its body itself (size-limited, then parsed),
#: so FastAPI cannot see it; ``server.main`` adds ``InventoryReport``'s schema to the document's components.
REPORT_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/InventoryReport"}}}}}
