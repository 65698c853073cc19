"""Promises about the tooling: mypy checks everything it can, on the Python version ruff and the package target."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11's tomllib")

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_mypy_ignores_missing_imports_only_per_module() -> None:
    mypy = _pyproject()["tool"]["mypy"]
    assert "ignore_missing_imports" not in mypy
    assert mypy["strict"] is True
    assert mypy["warn_unused_ignores"] is True
    for override in mypy.get("overrides", []):
        if override.get("ignore_missing_imports"):
            # Only third-party modules may be excused, never the project's own packages.
            modules = override["module"] if isinstance(override["module"], list) else [override["module"]]
            assert not [m for m in modules if m.split(".")[0] in ("agent", "server", "shared")]


def test_mypy_and_ruff_check_the_oldest_supported_python() -> None:
    project = _pyproject()
    oldest = re.fullmatch(r">=\s*3\.(\d+)", project["project"]["requires-python"])
    assert oldest is not None
    minor = oldest.group(1)
    assert project["tool"]["mypy"]["python_version"] == f"3.{minor}"
    assert project["tool"]["ruff"]["target-version"] == f"py3{minor}"
