"""Facts declared once: the schema, the observation table, ``ObservationFacts`` and ``DeviceState`` in step.

A column added to ``observation`` that does not reach the state, or a report field added to the schema that
is neither stored nor listed with its reason in ``facts.NOT_STORED``, fails here.
"""

from __future__ import annotations

import typing
from dataclasses import fields
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy.engine import Engine

from server.db import reading
from server.models import Observation, table_of
from server.services.facts import BOOKKEEPING, COPIED, NOT_IN_STATE, NOT_STORED, ObservationFacts
from server.services.history import snapshot
from server.services.ingest import Delivery, receive
from server.services.state import AntivirusState, DeviceState
from shared.schema import InventoryReport
from tests.server.factories import make_unit

DATA = Path(__file__).resolve().parents[2] / "data"


def _leaves(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every leaf field of a wire model as a dotted path (``[]`` marks a list)."""
    out = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        candidates = [annotation, *typing.get_args(annotation)]
        candidates += [inner for c in list(candidates) for inner in typing.get_args(c)]
        part = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        path = prefix + name + ("[]" if "list[" in str(annotation) else "")
        out.extend(_leaves(part, path + ".") if part is not None else [path])
    return out


def _covered(path: str, entries: typing.Iterable[str]) -> bool:
    return any(path == e or path.startswith(e + ".") for e in entries)


def test_every_report_field_is_stored_or_dropped_with_a_reason() -> None:
    leaves = _leaves(InventoryReport)
    stored = set(ObservationFacts.READS)
    forgotten = [p for p in leaves if p not in stored and not _covered(p, NOT_STORED)]
    assert forgotten == [], "store these report fields or list them in facts.NOT_STORED with the reason"
    stale = [e for e in (*stored, *NOT_STORED) if not any(p == e or p.startswith(e + ".") for p in leaves)]
    assert stale == [], "these entries name no report field"
    assert not stored & set(NOT_STORED), "a field is either stored or dropped"


def test_every_observation_column_is_a_fact_or_bookkeeping() -> None:
    columns = {c.name for c in table_of(Observation).columns}
    facts = {f.name for f in fields(ObservationFacts)}
    assert columns - BOOKKEEPING == facts, "a stored column without a place in ObservationFacts, or the reverse"
    assert set(COPIED) <= facts


def test_every_fact_reaches_the_state_or_says_why_not() -> None:
    state = {f.name for f in fields(DeviceState)}
    facts = {f.name for f in fields(ObservationFacts)}
    assert facts - set(NOT_IN_STATE) <= state
    assert set(NOT_IN_STATE) <= facts
    assert set(ObservationFacts().state()) == facts - set(NOT_IN_STATE)


def test_antivirus_wire_stored_and_state_forms_agree() -> None:
    report = InventoryReport.model_validate_json((DATA / "report-windows.json").read_text())
    for product in report.antivirus:
        state = AntivirusState.from_wire(product)
        assert AntivirusState.from_json(state.to_json()) == state


def test_a_stored_report_reaches_the_snapshot_as_its_facts_say(engine: Engine) -> None:
    """Through the database: every fact of ``ObservationFacts.state()`` arrives in ``DeviceState``."""
    unit = make_unit(engine)
    for name in ("report-windows.json", "report-linux.json", "report-darwin.json"):
        report = InventoryReport.model_validate_json((DATA / name).read_text())
        now = report.collected_at + timedelta(minutes=1)
        result = receive(engine, report, lambda _c: Delivery(via="import", unit_id=unit), now=now)
        with reading(engine) as session:
            found = {d.id: d for d in snapshot(session, now.date() + timedelta(days=2)).devices}
        device = found[result.device_id]  # type: ignore[index]
        expected = ObservationFacts.from_report(report).state()
        assert {name: getattr(device, name) for name in expected} == expected, name
