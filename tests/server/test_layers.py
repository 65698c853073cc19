"""The layering, kept by walking imports: services never reach up to the API, console or command line; the API
never imports the console; the command line imports neither; the security module imports no layer above it.

Every ``import`` is counted, including the ones inside functions: a deferred import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: package folder -> the packages it must never import (the layers above it).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "server/services": ("server.api", "server.console", "server.commands", "server.report", "server.demo"),
    "server/api": ("server.console", "server.commands"),
    "server/report": ("server.console", "server.api", "server.commands"),
    "server/security.py": ("server.console", "server.api", "server.commands", "server.services"),
    "server/commands": ("server.api", "server.console"),
    "server/vocab.py": ("server.",),
    "server/bounds.py": ("server.",),
    "server/config.py": ("server.",),
}


def imported(path: Path, root: Path = ROOT) -> set[str]:
    """The dotted names a module imports, wherever the statement stands (relative imports resolved)."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def violations(root: Path, rules: dict[str, tuple[str, ...]]) -> list[str]:
    """``file: name`` for every import that crosses a rule, under ``root``."""
    out = []
    for where, banned in rules.items():
        target = root / where
        files = [target] if target.suffix == ".py" else sorted(target.rglob("*.py"))
        for path in files:
            for name in sorted(imported(path, root)):
                if any(name == b.rstrip(".") or name.startswith(b if b.endswith(".") else b + ".") for b in banned):
                    out.append(f"{path.relative_to(root)}: {name}")
    return out


def test_the_layers_hold() -> None:
    assert violations(ROOT, FORBIDDEN) == []


def test_a_crossing_import_is_caught(tmp_path: Path) -> None:
    services = tmp_path / "server" / "services"
    services.mkdir(parents=True)
    (services / "bad.py").write_text("def f() -> None:\n    from server.console.views import View\n")
    (tmp_path / "server" / "api").mkdir()
    (tmp_path / "server" / "api" / "ok.py").write_text("from server.services import bad\n")
    (tmp_path / "server" / "api" / "rel.py").write_text("from ..console import auth\n")
    found = violations(tmp_path, {"server/services": ("server.console",), "server/api": ("server.console",)})
    assert found == ["server/services/bad.py: server.console.views",
                     "server/services/bad.py: server.console.views.View",
                     "server/api/rel.py: server.console", "server/api/rel.py: server.console.auth"]
