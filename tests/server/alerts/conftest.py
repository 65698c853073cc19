"""Fixtures of the alert tests: the clock stopped in Hanoi's morning, a small district (see ``world.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine
from sqlalchemy.engine import Engine

from tests.server.alerts.world import NOW, build_district


@pytest.fixture
def frozen() -> Iterator[time_machine.Coordinates]:
    """The clock stopped at ``NOW`` (moved by the test with ``move_to``)."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def district(engine: Engine) -> Engine:
    """UBND (district) with communes XA1 and XA2."""
    return build_district(engine)
