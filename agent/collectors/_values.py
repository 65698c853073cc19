"""Pure helpers that turn the odd shapes tools print into plain Python values.

Shared by every per-OS parser: JSON that is one object or a list, the three date styles Windows emits,
firmware placeholders that mean "unknown", numbers that arrive as strings.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

Record = dict[str, Any]

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_CIM_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})([\d*]{6})\.[\d*]{6}([+-])([\d*]{3})$")
_ISO_FRACTION = re.compile(r"(\.\d{6})\d+")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")

#: Strings firmware and OEM images leave in SMBIOS fields when nobody filled them in.
PLACEHOLDERS = frozenset(
    s.casefold()
    for s in (
        "To be filled by O.E.M.", "To Be Filled By O.E.M.", "Default string", "System Product Name",
        "System manufacturer", "System Manufacturer", "System Serial Number", "System Version",
        "Chassis Serial Number", "Base Board Serial Number", "Not Specified", "Not Applicable", "Not Available",
        "None", "N/A", "NA", "OEM", "O.E.M.", "Unknown", "INVALID", "Type1ProductConfigId", "SKU",
        "123456789", "1234567890", "0123456789", "xxxxxxxxxx", "Undefined", "Default", "empty",
    )
)


def load_json(text: str) -> Any:
    """JSON from a tool's output; empty output (no instances) is None. Raises ValueError when it is garbage."""
    text = text.lstrip("\ufeff").strip()
    if not text:
        return None
    return json.loads(text)


def records(value: Any) -> list[Record]:
    """The list of objects in ConvertTo-Json output, which prints a single instance as a bare object."""
    if value is None:
        return []
    # Windows PowerShell 5.1 wraps some arrays as {"value": [...], "Count": n}.
    if isinstance(value, dict) and set(value) == {"value", "Count"}:
        value = value["value"]
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    raise ValueError(f"expected an object or a list of objects, got {type(value).__name__}")


def first(value: Any) -> Record:
    """The first object of ConvertTo-Json output, or an empty record when there is none."""
    found = records(value)
    return found[0] if found else {}


def clean(value: Any, limit: int = 512) -> str | None:
    """A trimmed string cut to ``limit`` characters (the contract's bound), or None for empty and placeholders."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).replace("\x00", "").strip()
    if not text or text.casefold() in PLACEHOLDERS:
        return None
    return text[:limit].rstrip()


def short(value: Any) -> str | None:
    """``clean`` for the contract's short fields (versions, builds, names of profiles): 128 characters."""
    return clean(value, 128)


def clean_serial(value: Any) -> str | None:
    """A serial number, or None for placeholders and serials made of one repeated character (``00000000``)."""
    text = clean(value)
    if text is None:
        return None
    bare = text.replace("-", "").replace(" ", "")
    if not bare or len(set(bare.casefold())) == 1:
        return None
    return text


def to_int(value: Any) -> int | None:
    """An integer from a number or a numeric string; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def to_bool(value: Any) -> bool | None:
    """A boolean from true/false, 1/0 or their string forms; None for anything else (e.g. NotConfigured)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {1: True, 0: False}.get(value)
    if isinstance(value, str):
        return {"true": True, "false": False, "1": True, "0": False}.get(value.strip().lower())
    return None


def parse_when(value: Any) -> datetime | None:
    """An aware UTC datetime from CIM, ``/Date(ms)/``, ISO 8601, ``M/D/YYYY`` or ``YYYYMMDD``; None if none fits.

    Dates without any zone are taken as UTC: there is no better guess, and a day's error is the worst case.
    """
    if isinstance(value, dict):  # PS 5.1 wraps decorated DateTimes as {"value": "/Date(..)/", "DateTime": ...}
        value = value.get("value")
    if not isinstance(value, str):
        return None
    text = value.strip().replace("\\/", "/")
    if not text:
        return None
    match = _MS_DATE.match(text)
    if match:
        # The milliseconds are UTC; the optional offset only says which zone the writer was in.
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=int(match.group(1)))
    match = _CIM_DATE.match(text)
    if match:
        return _cim(match)
    match = _US_DATE.match(text)
    if match:
        return _utc_date(int(match.group(3)), int(match.group(1)), int(match.group(2)))
    match = _COMPACT_DATE.match(text)
    if match:
        return _utc_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    try:
        parsed = datetime.fromisoformat(_ISO_FRACTION.sub(r"\1", text.replace("Z", "+00:00")))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def parse_date(value: Any) -> date | None:
    """The UTC calendar date of ``parse_when(value)``."""
    when = parse_when(value)
    return when.date() if when else None


def _utc_date(year: int, month: int, day: int) -> datetime | None:
    try:
        return datetime(year, month, day, tzinfo=timezone.utc)
    except ValueError:
        return None


def _cim(match: re.Match[str]) -> datetime | None:
    year, month, day, clock, sign, offset = match.groups()
    base = _utc_date(int(year), int(month), int(day))
    if base is None:
        return None
    if "*" in clock:  # wildcards: only the date is known
        return base
    try:
        base = base.replace(hour=int(clock[:2]), minute=int(clock[2:4]), second=int(clock[4:]))
    except ValueError:
        return None
    minutes = 0 if "*" in offset else int(offset)
    # DMTF offsets are minutes east of UTC: local = UTC + offset, so UTC = local - offset.
    return base - timedelta(minutes=minutes if sign == "+" else -minutes)


# UUIDs that firmware vendors ship on many boards at once: not an identity.
_BAD_UUIDS = {"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
              "03000200-0400-0500-0006-000700080009"}


def usable_uuid(value: Any) -> str | None:
    """An SMBIOS UUID in lower case, or None for the blank and shared ones boards ship with."""
    text = clean(value)
    if text is None or text.lower() in _BAD_UUIDS or not re.fullmatch(r"[0-9a-fA-F-]{32,36}", text):
        return None
    return text.lower()
