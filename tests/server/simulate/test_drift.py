"""Drift of a simulated machine between collections, and the state file that keeps it."""

from __future__ import annotations

import random
import stat
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from server.demo import fleet
from server.simulate import state as state_file
from server.simulate.drift import DriftRates, MachineState, step
from server.simulate.tally import percentiles

AT = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)
NOTHING = DriftRates(signatures_update=0, av_disabled=0, av_restored=0, disk_replaced=0, goes_offline=0, retired=0)


def _healthy() -> MachineState:
    pc = next(p for p in (fleet.simulated_pc(i) for i in range(1, 200)) if p.av == "kaspersky" and p.av_healthy)
    return MachineState(pc)


def test_signatures_age_until_the_next_update() -> None:
    state = step(_healthy(), AT, random.Random(1), replace(NOTHING, signatures_update=1))
    fetched = state.pc.signatures_updated_at
    assert fetched is not None and AT - timedelta(hours=3) <= fetched <= AT
    later = step(state, AT + timedelta(days=3), random.Random(1), NOTHING)
    report = fleet.report_at(later.pc, AT + timedelta(days=3))
    assert report.antivirus[0].signatures_updated_at == fetched  # three days old now


def test_antivirus_switched_off_then_put_right() -> None:
    off = step(_healthy(), AT, random.Random(1), replace(NOTHING, av_disabled=1))
    assert not off.pc.av_healthy
    assert fleet.report_at(off.pc, AT).antivirus[0].enabled is False
    on = step(off, AT + timedelta(hours=1), random.Random(1), replace(NOTHING, av_restored=1))
    assert on.pc.av_healthy and fleet.report_at(on.pc, AT).antivirus[0].enabled is True


def test_disk_replaced_offline_for_days_and_retired() -> None:
    disk = step(_healthy(), AT, random.Random(1), replace(NOTHING, disk_replaced=1))
    assert fleet.report_at(disk.pc, AT).hardware.disks[0].kind == "ssd"
    away = step(_healthy(), AT, random.Random(1), replace(NOTHING, goes_offline=1, offline_steps=(2, 2)))
    assert not away.reports
    back = step(step(away, AT, random.Random(2), NOTHING), AT, random.Random(3), NOTHING)
    assert back.offline_steps == 0 and back.reports
    gone = step(_healthy(), AT, random.Random(1), replace(NOTHING, retired=1))
    assert gone.retired and step(gone, AT, random.Random(1), DriftRates()).retired


def test_simulated_machines_are_stable_and_distinct() -> None:
    assert fleet.simulated_pc(7) == fleet.simulated_pc(7)
    ids = {fleet.simulated_pc(i).machine_id for i in range(1, 500)}
    assert len(ids) == 499
    assert fleet.simulated_pc(7, seed=1).machine_id != fleet.simulated_pc(7).machine_id


def test_state_file_round_trip_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "sim.json"
    state = state_file.load(path, "https://kiemke.example.vn", seed=3)
    state.grow(5)
    drifted = step(state.agents[0].state, AT, random.Random(1), replace(NOTHING, signatures_update=1))
    state.agents[0].state, state.agents[0].agent_key, state.agents[0].enrolled_at = drifted, "kk_x_y", AT
    state_file.save(path, state)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = state_file.load(path, "https://kiemke.example.vn/", seed=3)
    assert [a.to_json() for a in again.agents] == [a.to_json() for a in state.agents]
    with pytest.raises(state_file.StateFileError, match="not https://other"):
        state_file.load(path, "https://other", seed=3)


def test_percentiles_in_milliseconds() -> None:
    assert percentiles([]) == (None, None, None)
    p50, p95, p99 = percentiles([i / 1000 for i in range(1, 101)])
    assert p50 == pytest.approx(50.5) and p95 == pytest.approx(95.05) and p99 == pytest.approx(99.01)
