"""Promises about the agent's own layout: every collector module has a test that imports it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTORS = ROOT / "agent" / "collectors"
TESTS = ROOT / "tests" / "agent" / "collectors"

# Modules whose tests live under another name: the per-OS modules by OS, the package's choice of OS.
_TEST_NAME = {"_windows": "test_windows", "_linux": "test_linux", "_macos": "test_macos", "_common": "test_common",
              "__init__": "test_platforms"}


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


def test_per_os_modules_import_only_the_common_module_of_the_package() -> None:
    allowed = {"agent.collectors._common"}
    for name in ("_windows", "_linux", "_macos"):
        ours = {m for m in _imports(COLLECTORS / f"{name}.py") if m == "agent" or m.startswith("agent.")}
        assert {m for m in ours if m not in allowed and m.rpartition(".")[0] not in allowed} == set(), name


def test_the_package_holds_the_choice_of_os_the_common_module_and_the_per_os_modules_only() -> None:
    # No public one-line fronts: a fact family's OS-neutral rule lives in _common, its reading per OS.
    assert sorted(p.stem for p in COLLECTORS.glob("*.py")) == ["__init__", "_common", "_linux", "_macos", "_windows"]


def test_collect_walks_every_fact_of_the_platform_module() -> None:
    from agent.collect import collect_facts
    from agent.collectors import PlatformModule
    from agent.collectors._common import Errors

    called: list[str] = []

    class Recording:
        def __getattr__(self, name: str) -> object:
            called.append(name)
            raise RuntimeError(name)  # every family fails: each must still be attempted and recorded

    facts = collect_facts(Recording(), object(), errors := Errors())  # type: ignore[arg-type]
    wanted = {n for n in vars(PlatformModule) if not n.startswith("_")} - {"NAME", "live_source", "source_names"}
    assert set(called) == wanted
    assert {e.collector for e in errors.items} == set(facts) == {
        "hostname", "identity", "hardware", "os", "antivirus", "firewall", "network", "peripherals", "detections"}
