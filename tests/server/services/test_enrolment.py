"""Enrolment under concurrency: a token with --max-uses 1 lets exactly one of 30 simultaneous agents in."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.db import writing
from server.models import Agent, EnrolmentToken, table_of
from server.services.enrolment import EnrolmentError, create_token, enroll
from shared.protocol import EnrollRequest
from tests.server.factories import make_unit

AGENTS = 30


def test_max_uses_one_admits_exactly_one_of_thirty(engine: Engine) -> None:
    make_unit(engine)
    with writing(engine) as session:
        token, _ = create_token(session, "UBND", days=1, actor="test", max_uses=1)
    start = threading.Barrier(AGENTS)

    def attempt(n: int) -> str:
        start.wait()  # all threads enter their transactions together
        try:
            with writing(engine) as session:
                enroll(session, EnrollRequest(token=token, machine_id=f"pc-{n}"))
            return "enrolled"
        except EnrolmentError as exc:
            assert "used up" in str(exc)
            return "refused"
        except sa.exc.OperationalError as exc:  # SQLite's busy timeout ran out: refused, not admitted
            pytest.fail(f"enrolment failed with a database error: {exc}")

    with ThreadPoolExecutor(max_workers=AGENTS) as pool:
        outcomes = list(pool.map(attempt, range(AGENTS)))
    assert outcomes.count("enrolled") == 1 and outcomes.count("refused") == AGENTS - 1
    with engine.connect() as conn:
        uses = conn.execute(sa.select(table_of(EnrolmentToken).c.uses)).scalar_one()
        agents = conn.execute(sa.select(sa.func.count()).select_from(table_of(Agent))).scalar_one()
    assert (uses, agents) == (1, 1)
