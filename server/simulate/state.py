"""The simulator's state file: each simulated machine's identity, agent key and drifted facts.

The file holds agent keys, so it is written owner-only (0600) and replaced atomically. A second run with
the same file sends from the same machines with the same keys: no new enrolments, no new devices.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from server.demo import fleet
from server.simulate.drift import MachineState

FORMAT = 1


class StateFileError(ValueError):
    """A state file that cannot be used, with what to do about it."""


@dataclass
class SimulatedAgent:
    """One simulated machine and its agent's credentials."""

    state: MachineState
    agent_key: str | None = None
    unit_code: str | None = None
    enrolled_at: datetime | None = None  # the earliest its reports may say they were collected
    collections: int = 0  # collections so far: seeds the machine's random source, so runs differ

    @property
    def machine_id(self) -> str:
        """The machine's stable id."""
        return self.state.pc.machine_id

    def to_json(self) -> dict[str, Any]:
        """The agent as JSON values."""
        return {
            "pc": fleet.to_json(self.state.pc), "agent_key": self.agent_key, "unit_code": self.unit_code,
            "enrolled_at": self.enrolled_at.isoformat() if self.enrolled_at else None,
            "collections": self.collections, "offline_steps": self.state.offline_steps,
            "retired": self.state.retired,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimulatedAgent:
        """The inverse of ``to_json``."""
        enrolled = data.get("enrolled_at")
        return cls(
            state=MachineState(fleet.from_json(data["pc"]), int(data.get("offline_steps", 0)),
                               bool(data.get("retired", False))),
            agent_key=data.get("agent_key"), unit_code=data.get("unit_code"),
            enrolled_at=datetime.fromisoformat(enrolled) if enrolled else None,
            collections=int(data.get("collections", 0)),
        )


@dataclass
class SimulatorState:
    """Every simulated machine of one server, in a stable order (agent ``i`` is machine ``i``)."""

    server: str
    seed: int = 0
    agents: list[SimulatedAgent] = field(default_factory=list)

    def grow(self, count: int) -> None:
        """Add machines up to ``count`` (generated from the seed; existing ones are kept as they are)."""
        for index in range(len(self.agents), count):
            self.agents.append(SimulatedAgent(MachineState(fleet.simulated_pc(index + 1, self.seed))))


def load(path: Path, server: str, seed: int) -> SimulatorState:
    """The state in ``path`` for ``server``, or a new empty one when the file does not exist."""
    if not path.exists():
        return SimulatorState(server=server, seed=seed)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise StateFileError(f"{path}: not a simulator state file of format {FORMAT}")
        state = SimulatorState(server=data["server"], seed=int(data["seed"]),
                               agents=[SimulatedAgent.from_json(a) for a in data["agents"]])
    except (OSError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, StateFileError):
            raise
        raise StateFileError(f"{path}: unreadable simulator state ({exc}); move it away to start afresh") from exc
    if state.server.rstrip("/") != server.rstrip("/"):
        raise StateFileError(f"{path} holds the agents of {state.server}, not {server}: use another --state file")
    return state


def save(path: Path, state: SimulatorState) -> None:
    """Write the state owner-only, replacing the file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"format": FORMAT, "server": state.server, "seed": state.seed,
            "agents": [a.to_json() for a in state.agents]}
    fd, tmp = tempfile.mkstemp(prefix=".simulator-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
