"""A full disk under the spool, with real processes and a real filesystem (a tiny tmpfs; needs root to mount).

The reports already spooled are never lost; a new report the disk refuses is sent straight away when the
server answers, and is the only thing lost (with a clear error and exit code) when it does not.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from .realprocs import Agent, RealServer, report_id_of

pytestmark = pytest.mark.slow


@pytest.fixture
def full_queue(agent: Agent) -> Iterator[Path]:
    """The agent's spool queue on a 256 KB tmpfs, unmounted at the end."""
    queue = agent.data_dir / "spool" / "queue"
    queue.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs to fill needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(queue)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield queue
    finally:
        subprocess.run(["umount", "-l", str(queue)], check=False)


def _fill(queue: Path) -> Path:
    """Take every free byte of the queue's filesystem (ENOSPC from then on)."""
    ballast = queue / ".ballast"
    with contextlib.suppress(OSError), ballast.open("wb") as handle:
        while True:
            handle.write(b"\0" * 4096)
            handle.flush()
    assert os.statvfs(queue).f_bavail == 0
    return ballast


def _exactly_once(server: RealServer, expected: list[uuid.UUID]) -> None:
    counts = Counter(server.received())
    assert set(counts) == set(expected) and all(n == 1 for n in counts.values()), counts


def test_a_full_disk_with_the_server_up_loses_nothing(server: RealServer, agent: Agent, full_queue: Path) -> None:
    agent.enroll(server)
    spooled = [report_id_of(agent.run("report", "--no-send").stdout) for _ in range(2)]
    _fill(full_queue)

    done = agent.run("report")
    assert done.returncode == 0, done.stderr
    newest = report_id_of(done.stdout)
    assert newest not in spooled
    _exactly_once(server, [*spooled, newest])
    assert agent.queued() == [] and agent.temporaries() == []


def test_a_full_disk_with_the_server_away_keeps_what_was_spooled(server: RealServer, agent: Agent,
                                                                 full_queue: Path) -> None:
    agent.enroll(server)
    spooled = [report_id_of(agent.run("report", "--no-send").stdout) for _ in range(2)]
    ballast = _fill(full_queue)
    server.stop()

    refused = agent.run("report")
    assert refused.returncode != 0
    assert "could not write the report" in refused.stderr and "Traceback" not in refused.stderr
    assert agent.queued() == spooled and agent.temporaries() == []  # nothing half-written left behind

    ballast.unlink()  # the officer frees space; the server comes back
    server.start()
    done = agent.run("report")
    assert done.returncode == 0, done.stderr
    _exactly_once(server, [*spooled, report_id_of(done.stdout)])
