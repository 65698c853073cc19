"""Fixtures of the report tests: the hand-built district of ``handbuilt.py``."""

from __future__ import annotations

import pytest

from server.services.figure import Coverage
from server.services.state import Snapshot
from tests.server.report.handbuilt import make_coverage, make_snapshot


@pytest.fixture
def snapshot() -> Snapshot:
    """The hand-built district as of 18/05/2024."""
    return make_snapshot()


@pytest.fixture
def coverage() -> Coverage:
    """Its coverage with hand-set figures."""
    return make_coverage()
