"""A year of history for the demo district: who reported what, month by month, with a plausible trend.

Today's fleet (``fleet.fleet()``) is where the year ends. Going back: about three in five PCs launched from
2022 on replaced an old PC of the same name during the year (the old one reported until then and was
recorded as retired); about a third of the PCs whose antivirus is healthy today had it switched off, out of
date or not yet installed until some day of the year. So an earlier cut-off shows more devices past their
service life and lower antivirus coverage, as a district that is improving would.

``plan`` is pure. ``load`` writes the year through the service layer with the server's clock set to each
report's receipt time (enrolment, devices and the officer's records backdated to the start of the year);
reports dated today come afterwards through HTTP, as the server files them by receipt time.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from server.demo import fleet, malware
from server.demo.fleet import SimulatedPC

YEAR = timedelta(days=365)
#: Old models that the replaced PCs were (CPU launched 2014 or before: past a five-year service life).
_OLD = tuple(m for m in fleet.MODELS if m[1] <= 2014)


@dataclass(frozen=True)
class Life:
    """One machine over the year: its facts as of today, and what differed before ``fixed_at``."""

    pc: SimulatedPC
    first: datetime  # enrolled (and first reported) then
    last: datetime | None = None  # retired after this report (a replaced PC)
    fixed_at: datetime | None = None  # antivirus put right then
    before_fix: SimulatedPC | None = None  # the PC's facts until ``fixed_at``

    def at(self, when: datetime) -> SimulatedPC:
        """The PC's facts at ``when``."""
        if self.fixed_at is not None and self.before_fix is not None and when < self.fixed_at:
            return self.before_fix
        return self.pc


def _predecessor(pc: SimulatedPC, rng: random.Random) -> SimulatedPC:
    cpu, launch, vendor, model, chassis = rng.choice(_OLD)
    machine = uuid.uuid5(uuid.UUID(pc.machine_id), "replaced")
    return replace(
        pc, machine_id=str(machine).upper(), serial=f"SN{machine.hex[:10].upper()}", cpu_model=cpu,
        launch_year=launch, vendor=vendor, model=model, chassis=chassis,
        bought=pc.bought.replace(year=launch), bios_date=pc.bios_date.replace(year=launch), bios_updated=None,
        os_name="Microsoft Windows 10 Pro", os_version="10.0.19045", stale=False,
    )


def plan(pcs: list[SimulatedPC], now: datetime, seed: int = 7) -> list[Life]:
    """Every machine that reported during the year before ``now``, today's and the replaced ones."""
    start = now - YEAR
    lives: list[Life] = []
    for pc in pcs:
        rng = random.Random(f"{seed}-{pc.machine_id}")
        first = start + timedelta(hours=rng.randint(1, 72))
        if pc.launch_year >= 2022 and rng.random() < 0.6:
            swap = start + timedelta(days=rng.randint(20, 330), hours=rng.randint(0, 9))
            lives.append(Life(_predecessor(pc, rng), first, last=swap))
            first = swap + timedelta(hours=2)
        fixed_at = before = None
        pc = replace(pc, infections=malware.over_year(pc.machine_id, start, now - timedelta(days=1), seed))
        if pc.av != "none" and pc.av_healthy and rng.random() < 0.35:
            fixed_at = start + timedelta(days=rng.randint(10, 340))
            before = replace(pc, av="none") if rng.random() < 0.3 else replace(pc, av_healthy=False)
        lives.append(Life(pc, first, fixed_at=fixed_at, before_fix=before))
    return lives


def reports(life: Life, now: datetime, seed: int = 7) -> Iterator[datetime]:
    """When the machine's agent collected during the year: at enrolment, then about every two months (the
    server keeps an observation only when facts change, so more reports would add little history and
    slow the demo's start); a stale agent stops 45 days before ``now``. Today's report is not included (it
    comes over HTTP)."""
    rng = random.Random(f"{seed}-{life.pc.machine_id}-times")
    end = life.last or (now - timedelta(days=45) if life.pc.stale else now - timedelta(days=1))
    at = life.first + timedelta(minutes=5)
    while at <= end:
        yield at
        at += timedelta(days=rng.randint(55, 66), hours=rng.randint(-3, 3))
    if life.last is not None:
        yield life.last  # the old PC's last report, the day it was replaced
