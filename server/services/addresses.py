"""Which devices a search for an IP or MAC address finds: the interfaces of their latest report as of a date.

Addresses live only in the report's facts (JSON), so they are looked up when a search looks like one (hex
digits with ``.``, ``:`` or ``-``, or a bare 12-digit MAC) and never read for the figures. The database first
narrows the latest observations to those whose text holds the address; the few it returns are then read
exactly (the address must be one of an interface's IPv4, IPv6 or MAC, or part of one).
"""

from __future__ import annotations

import json
import re
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from server.models import Observation, table_of

_ADDRESS = re.compile(r"[0-9a-f]*[.:\-][0-9a-f.:\-]*|[0-9a-f]{12}")
_OBS = table_of(Observation)


def address_needle(search: str) -> str | None:
    """The search as the reports write addresses (lower case, MAC colon separated), or None if it is no address."""
    text = search.strip().lower()
    if len(text) < 3 or len(text) > 64 or not _ADDRESS.fullmatch(text) or not any(c.isdigit() for c in text):
        return None
    if re.fullmatch(r"[0-9a-f]{12}", text):
        return ":".join(text[i:i + 2] for i in range(0, 12, 2))
    if re.fullmatch(r"[0-9a-f]{2}(-[0-9a-f]{2})+-?", text):  # Windows writes MACs with dashes
        return text.replace("-", ":")
    return text


def devices_with_address(session: Session, search: str, cutoff: datetime) -> set[int]:
    """Devices whose latest observation before ``cutoff`` lists an interface address containing ``search``."""
    needle = address_needle(search)
    if needle is None:
        return set()
    o = _OBS.c
    ranked = (sa.select(o.id, sa.func.row_number().over(partition_by=o.device_id,
                                                        order_by=(o.observed_at.desc(), o.id.desc())).label("rank"))
              .where(o.observed_at < cutoff).subquery())
    latest = sa.select(ranked.c.id).where(ranked.c.rank == 1)
    rows = session.execute(sa.select(o.device_id, o.facts).where(o.id.in_(latest), o.facts.contains(needle)))
    found = set()
    for device_id, facts in rows:
        interfaces = (json.loads(facts).get("network") or {}).get("interfaces") or []
        for interface in interfaces:
            values = [*(interface.get("ipv4") or []), *(interface.get("ipv6") or []), interface.get("mac") or ""]
            if any(needle in str(value).lower() for value in values):
                found.add(int(device_id))
                break
    return found
