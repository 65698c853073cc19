"""Write the demo's year of history through the service layer, the server's clock set to each moment.

History cannot come over HTTP: the server files a report by its receipt time. Here every step runs with
``now=`` the time it would have happened: the officer's spreadsheets imported at the start of the year,
each machine enrolled when it was set up, each report ingested a few minutes after it was collected, a
replaced PC recorded as retired the day after its last report. Then the reports of the year's cut-off dates
are kept as the scheduled job keeps them (each compared with the one before), so the console lists them.
Reports dated today come afterwards over HTTP (``server/demo/run.py``).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from server.clock import local_date
from server.config import report_timezone
from server.db import write_lock, writer, writing
from server.demo import district, fleet, year
from server.demo.fleet import SimulatedPC, report_at
from server.models import Device, OrgUnit
from server.services import spreadsheets
from server.services.enrolment import create_token, enroll
from server.services.ingest import Delivery, ingest
from server.services.policy import Policy
from server.services.records import audit, save_device
from shared.protocol import EnrollRequest

ACTOR = "demo"
_CHUNK = 500  # reports per transaction


@dataclass
class Loaded:
    """What the year of history wrote, and the keys of the machines still reporting today."""

    reports: int = 0
    retired: int = 0
    kept: list[date] = field(default_factory=list)  # cut-off dates whose report is kept
    # machine id -> (agent key, unit code, enrolled at) of today's machines
    agents: dict[str, tuple[str, str, datetime]] = field(default_factory=dict)


def import_records(engine: Engine, folder: Path, at: datetime) -> None:
    """The officer's spreadsheets (units, assets, licences), recorded as kept since ``at``."""
    paths = district.write_spreadsheets(folder)
    for kind in ("units", "assets", "licences"):
        importer = getattr(spreadsheets, f"import_{kind}")
        result: spreadsheets.ImportResult = importer(engine, paths[kind], ACTOR, now=at)
        if result.errors:
            raise ValueError(f"demo {kind} spreadsheet refused: {result.errors[:3]}")


def _enrol(engine: Engine, lives: list[year.Life], start: datetime) -> dict[str, tuple[uuid.UUID, str, str, int]]:
    """Enrol every machine at its set-up time; machine id -> (agent id, key, unit code, unit id)."""
    out: dict[str, tuple[uuid.UUID, str, str, int]] = {}
    with writing(engine) as session:
        units = {u.code: u.id for u in session.exec(select(OrgUnit))}
        tokens = {code: create_token(session, code, days=400, actor=ACTOR, now=start)[0]
                  for code in sorted({life.pc.unit_code for life in lives})}
        for life in sorted(lives, key=lambda x: x.first):
            pc = life.pc
            answer = enroll(session, EnrollRequest(token=tokens[pc.unit_code], machine_id=pc.machine_id,
                                                   hostname=pc.hostname), now=life.first)
            unit_id = units[pc.unit_code]
            assert unit_id is not None
            out[pc.machine_id] = (answer.agent_id, answer.agent_key, pc.unit_code, unit_id)
    return out


def _ingest_all(engine: Engine, lives: list[year.Life], agents: dict[str, tuple[uuid.UUID, str, str, int]],
                now: datetime) -> int:
    events = sorted(((at, n) for n, life in enumerate(lives) for at in year.reports(life, now)),
                    key=lambda e: e[0])
    rng = random.Random(5)
    for begin in range(0, len(events), _CHUNK):
        with write_lock(engine), writer(engine).begin() as conn:
            for at, n in events[begin:begin + _CHUNK]:
                life = lives[n]
                agent_id, _, _, unit_id = agents[life.pc.machine_id]
                received = at + timedelta(minutes=rng.randint(1, 20))
                delivery = Delivery(via="http", agent_id=agent_id, unit_id=unit_id,
                                    agent_machine_id=life.pc.machine_id, enrolled_at=life.first)
                ingest(conn, report_at(life.at(at), at), delivery, now=received)
    return len(events)


def _retire(engine: Engine, lives: list[year.Life]) -> int:
    """The officer records each replaced PC as retired the day after its last report."""
    retired = 0
    with writing(engine) as session:
        for life in lives:
            if life.last is None:
                continue
            device = session.exec(select(Device).where(Device.machine_id == life.pc.machine_id)).first()
            if device is None:
                continue
            at = life.last + timedelta(days=1)
            device.status = "retired"
            save_device(session, device, at)
            audit(session, ACTOR, "device.retire", at, device_id=device.id, machine_id=life.pc.machine_id)
            retired += 1
    return retired


def keep_reports(engine: Engine, now: datetime, policy: Policy, tz: tzinfo) -> list[date]:
    """The reports of the scheduled cut-offs within the year before ``now``, kept as the scheduled job does."""
    from server.jobs import ReportSchedule, run_report_job

    schedule = ReportSchedule(catch_up_days=(year.YEAR - timedelta(days=1)).days, runner=ACTOR)
    made = run_report_job(engine, policy, schedule, local_date(now, tz), tz=tz, now=now)
    return sorted({cut_off for cut_off, _, _ in made})


def load(engine: Engine, now: datetime, seed_folder: Path, pcs: list[SimulatedPC] | None = None, *,
         policy: Policy | None = None, tz: tzinfo | None = None) -> Loaded:
    """Write the demo district's year before ``now``: records, enrolments, reports, retirements, kept reports.

    ``pcs``: today's machines (default the whole demo fleet; tests take a sample). ``policy`` and ``tz``: the
    server's (default the built-in policy and ``KIEMKE_TIMEZONE``), for the kept reports.
    """
    start = now - year.YEAR
    import_records(engine, seed_folder, start)
    lives = year.plan(fleet.fleet() if pcs is None else pcs, now)
    agents = _enrol(engine, lives, start)
    loaded = Loaded(reports=_ingest_all(engine, lives, agents, now), retired=_retire(engine, lives))
    loaded.kept = keep_reports(engine, now, policy or Policy(), tz or report_timezone())
    by_id = {life.pc.machine_id: life for life in lives}
    for machine_id, (_, key, unit, _) in agents.items():
        life = by_id[machine_id]
        if life.last is None:
            loaded.agents[machine_id] = (key, unit, life.first)
    return loaded


