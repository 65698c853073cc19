"""What every download and query shares: file names in Content-Disposition (RFC 6266 with RFC 5987), bounds.

A unit code such as ``ĐX1`` or one holding a quote goes into the header twice: as an ASCII fallback in
``filename="..."`` for old clients, and exactly, percent-encoded UTF-8, in ``filename*=UTF-8''...``, which
every current browser prefers. Header values must be Latin-1 for the HTTP stack, so nothing else is safe.

Dates and text in queries are checked here against ``server.bounds`` (shared with the console and the
commands), so that a date the calendar cannot extend by a day (9999-12-31) is a 422 with a message, not a
server error.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Literal
from urllib.parse import quote

from fastapi import HTTPException

from server.bounds import day_problem
from shared.text import clean_text, has_forbidden

# RFC 5987 attr-char besides letters and digits: these stay as they are in filename*.
_ATTR_CHARS = "!#$&+-.^_`|~"
_UNSAFE_FALLBACK = re.compile(r'[^A-Za-z0-9._ -]')


def ascii_fallback(name: str) -> str:
    """``bao-cao-ĐX1.docx`` -> ``bao-cao-DX1.docx``: accents dropped, anything else unsafe made ``_``."""
    folded = clean_text(name).replace("Đ", "D").replace("đ", "d")
    plain = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return _UNSAFE_FALLBACK.sub("_", plain).strip() or "download"


def content_disposition(name: str, kind: Literal["attachment", "inline"] = "attachment") -> str:
    """The header value that names a download ``name`` for every client."""
    exact = clean_text(name)
    return f"{kind}; filename=\"{ascii_fallback(exact)}\"; filename*=UTF-8''{quote(exact, safe=_ATTR_CHARS)}"


# --- bounds of query and path parameters ----------------------------------------------------------------------

def bounded_day(day: date | None, name: str) -> date | None:
    """``day`` when it is within bounds; 422 naming the parameter otherwise."""
    if day is not None and (problem := day_problem(day)) is not None:
        raise HTTPException(422, f"{name}: {problem}")
    return day


def clean_param(value: str | None, name: str) -> str | None:
    """A text parameter without control characters (a NUL would reach the database); 422 otherwise."""
    if value is not None and has_forbidden(value):
        raise HTTPException(422, f"{name}: control characters are not allowed")
    return value
