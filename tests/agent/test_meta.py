"""Promises about the agent's own layout: every collector module has a test that imports it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTORS = ROOT / "agent" / "collectors"
TESTS = ROOT / "tests" / "agent" / "collectors"

# Modules whose tests live under another name: the per-OS modules by OS, the psutil snapshot as "host".
_TEST_NAME = {"_windows": "test_windows", "_linux": "test_linux", "_macos": "test_macos", "_host": "test_host",
              "_values": "test_values", "_source": "test_source", "__init__": "test_platforms"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_every_collector_module_has_a_test() -> None:
    missing = []
    for module in sorted(COLLECTORS.glob("*.py")):
        test = TESTS / f"{_TEST_NAME.get(module.stem, 'test_' + module.stem)}.py"
        dotted = "agent.collectors" if module.stem == "__init__" else f"agent.collectors.{module.stem}"
        if not test.is_file() or dotted not in _imports(test):
            missing.append(module.name)
    assert missing == []


def test_agent_never_imports_the_server() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "agent").rglob("*.py")
                 if any(name == "server" or name.startswith("server.") for name in _imports(p))]
    assert offenders == []
