"""The organisational tree as lookups: parents, ancestors and subtrees of unit codes, safe against bad data."""

from __future__ import annotations

from collections.abc import Iterable

from server.services.state import UnitState


class UnitTree:
    """Units by code with their children. A unit whose parent is unknown is a root; a cycle of parents (a data
    entry mistake) is broken at its smallest code so that every walk ends."""

    def __init__(self, units: Iterable[UnitState]) -> None:
        self.units: dict[str, UnitState] = {unit.code: unit for unit in units}
        self.parent: dict[str, str | None] = {
            code: unit.parent_code if unit.parent_code in self.units and unit.parent_code != code else None
            for code, unit in self.units.items()
        }
        self._break_cycles()
        self.children: dict[str, list[str]] = {code: [] for code in self.units}
        self.roots: list[str] = []
        for code in sorted(self.units):
            parent = self.parent[code]
            if parent is None:
                self.roots.append(code)
            else:
                self.children[parent].append(code)
        self._ancestors: dict[str, tuple[str, ...]] = {}

    def _break_cycles(self) -> None:
        done: set[str] = set()
        for start in sorted(self.units):
            path: list[str] = []
            position: dict[str, int] = {}
            current: str | None = start
            while current is not None and current not in position and current not in done:
                position[current] = len(path)
                path.append(current)
                current = self.parent[current]
            if current is not None and current in position:
                self.parent[min(path[position[current] :])] = None
            done.update(path)

    def ancestors(self, code: str) -> tuple[str, ...]:
        """``code`` and its ancestors up to its root, nearest first; ``(code,)`` for an unknown code."""
        cached = self._ancestors.get(code)
        if cached is None:
            parent = self.parent.get(code)
            cached = (code, *self.ancestors(parent)) if parent is not None else (code,)
            self._ancestors[code] = cached
        return cached

    def subtree(self, code: str) -> list[str]:
        """``code`` and every unit below it, parents before children, siblings by code."""
        out: list[str] = []
        stack = [code]
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(reversed(self.children.get(current, [])))
        return out

    def everything(self) -> list[str]:
        """Every unit, root by root, parents before children."""
        return [code for root in self.roots for code in self.subtree(root)]
