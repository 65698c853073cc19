"""How a simulated machine changes between two collections, as real office PCs do.

Each collection is one step: antivirus signatures are fetched or age, the antivirus may be switched off
(and later on again), it may detect malware (mostly removed at once, sometimes failed or left active), a disk may
be replaced, the PC may be switched off for some days (no reports), or
retired for good. Pure: the next state depends only on the current one and the random source.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from server.demo.fleet import SimulatedPC
from server.demo.malware import infection

#: Disks fitted when the old one fails.
REPLACEMENT_DISKS = (("Samsung SSD 870 EVO 500GB", "ssd"), ("Kingston SA400S37480G", "ssd"),
                     ("WDC WDS500G2B0A", "ssd"))


@dataclass(frozen=True)
class DriftRates:
    """Chances per collection of each change (the defaults give a handful of each in a province's day)."""

    signatures_update: float = 0.6  # the antivirus fetched new signatures since the last collection
    av_disabled: float = 0.003
    av_restored: float = 0.15  # an antivirus switched off or out of date is put right
    disk_replaced: float = 0.0005
    goes_offline: float = 0.004  # switched off for some days: skips ``offline_steps`` collections
    offline_steps: tuple[int, int] = (2, 12)
    retired: float = 0.0003
    infected: float = 0.002  # the antivirus detects malware (Defender's history; most removed at once)


@dataclass(frozen=True)
class MachineState:
    """A simulated machine's facts and whether it reports at this step."""

    pc: SimulatedPC
    offline_steps: int = 0  # collections still to skip
    retired: bool = False

    @property
    def reports(self) -> bool:
        """Whether the machine sends a report at this step."""
        return not self.retired and self.offline_steps == 0


def step(state: MachineState, at: datetime, rng: random.Random, rates: DriftRates = DriftRates()) -> MachineState:
    """The machine's state at the collection ``at``, one step after ``state``."""
    if state.retired:
        return state
    if rng.random() < rates.retired:
        return replace(state, retired=True)
    if state.offline_steps > 0:
        return replace(state, offline_steps=state.offline_steps - 1)
    if rng.random() < rates.goes_offline:
        return replace(state, offline_steps=rng.randint(*rates.offline_steps))
    pc = state.pc
    if pc.av != "none":
        if pc.av_healthy and rng.random() < rates.av_disabled:
            pc = replace(pc, av_healthy=False)
        elif not pc.av_healthy and rng.random() < rates.av_restored:
            pc = replace(pc, av_healthy=True, signatures_updated_at=at - timedelta(minutes=rng.randint(1, 30)))
        elif pc.av_healthy and (pc.signatures_updated_at is None or rng.random() < rates.signatures_update):
            pc = replace(pc, signatures_updated_at=at - timedelta(minutes=rng.randint(1, 180)))
    if rng.random() < rates.infected:
        pc = replace(pc, infections=(*pc.infections, infection(pc.machine_id, at, rng))[-20:])
    if rng.random() < rates.disk_replaced:
        model, kind = rng.choice(REPLACEMENT_DISKS)
        pc = replace(pc, disk_model=model, disk_kind=kind)
    return replace(state, pc=pc)
