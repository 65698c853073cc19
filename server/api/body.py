"""Reading a request body with a size limit, checked on Content-Length and again while it streams."""

from __future__ import annotations

from fastapi import HTTPException, Request, status


def _too_large(limit: int) -> HTTPException:
    return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"report body larger than the limit of {limit} bytes")


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as it is known to exceed ``limit`` (a lying or absent Content-Length too)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise _too_large(limit)
        except ValueError:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "Content-Length is not a number") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)
