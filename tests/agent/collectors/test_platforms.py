"""The OS is chosen once, and each per-OS module provides the same functions."""

from __future__ import annotations

import pytest

from agent.collectors import PLATFORMS, PlatformModule, current_platform, platform_module


@pytest.mark.parametrize("name", PLATFORMS)
def test_every_platform_module_has_the_full_surface(name: str) -> None:
    module = platform_module(name)
    assert name == module.NAME
    for member in [m for m in dir(PlatformModule) if not m.startswith("_") and m != "NAME"]:
        assert callable(getattr(module, member)), f"{name} lacks {member}"


def test_unknown_platform() -> None:
    with pytest.raises(ValueError):
        platform_module("plan9")
    assert current_platform() in (*PLATFORMS, None)
