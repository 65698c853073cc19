"""The one way to the figures as of a cut-off date, shared by the commands, the report and the console."""

from __future__ import annotations

from datetime import date, tzinfo

from sqlmodel import Session

from server.services.coverage import coverage_for
from server.services.figure import Coverage
from server.services.history import snapshot
from server.services.policy import Policy
from server.services.state import Snapshot


def coverage_as_of(
    session: Session, as_of: date, unit_code: str | None, policy: Policy, tz: tzinfo | None = None
) -> tuple[Snapshot, Coverage]:
    """The whole tree's snapshot at the end of ``as_of`` and the coverage of ``unit_code``'s scope.

    The whole tree is rebuilt even for one unit: licence seats are allotted across the district, so a unit's
    figures read the same alone as in the district's own table. KeyError when the unit is unknown then.
    """
    snap = snapshot(session, as_of, tz=tz)
    return snap, coverage_for(snap, policy, unit_code)
