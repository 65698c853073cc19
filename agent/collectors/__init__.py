"""Fact collectors, laid out as psutil's are. The OS is chosen here, once: ``platform_module`` imports the one
per-OS module a source needs (this machine's, or a replayed capture's) and nothing else.

Each per-OS module (``_windows``, ``_linux``, ``_macos``) has thin probes (a live ``Source``) and pure
parsers over raw bytes, cut into sections by fact family, and exposes the functions of ``PlatformModule``.
What they share (sources, value helpers, the psutil snapshot, OS-neutral rules) is in ``_common``, the only
module of this package they import. ``agent.collect`` walks its table of fact families over the chosen module.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from agent.collectors._common import Errors, Source
    from shared.schema import (
        AntivirusProduct,
        Detections,
        Firewall,
        Hardware,
        Network,
        OperatingSystem,
        Peripherals,
    )

PLATFORMS = ("windows", "linux", "darwin")


class PlatformModule(Protocol):
    """What each per-OS module provides."""

    NAME: str

    def live_source(self, timeout: float) -> Source:
        """The raw outputs of this machine, produced on demand."""
        ...

    def source_names(self, src: Source) -> list[str]:
        """Every raw output a capture saves (some, like monitors, depend on the machine)."""
        ...

    def hostname(self, src: Source, errors: Errors) -> str | None:
        """Computer name."""
        ...

    def identity(self, src: Source, errors: Errors) -> list[tuple[str, str]]:
        """Candidate stable ids, best first, as (machine_id_source, value)."""
        ...

    def hardware(self, src: Source, errors: Errors) -> Hardware:
        """Hardware facts."""
        ...

    def operating_system(self, src: Source, errors: Errors) -> OperatingSystem:
        """OS facts."""
        ...

    def antivirus(self, src: Source, errors: Errors) -> list[AntivirusProduct]:
        """Antivirus products."""
        ...

    def firewall(self, src: Source, errors: Errors) -> Firewall:
        """Firewall facts."""
        ...

    def network(self, src: Source, errors: Errors) -> Network:
        """Interfaces and gateway."""
        ...

    def peripherals(self, src: Source, errors: Errors) -> Peripherals:
        """Printers, scanners, monitors."""
        ...

    def detections(self, src: Source, errors: Errors, antivirus: list[AntivirusProduct]) -> Detections:
        """What the antivirus products' own histories say was found; ``antivirus`` tells whose history is missing."""
        ...


def current_platform() -> str | None:
    """windows, linux or darwin for the running OS; None elsewhere."""
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform == "darwin":
        return "darwin"
    return None


def platform_module(name: str) -> PlatformModule:
    """The per-OS module for ``name``; only that one is imported."""
    if name == "windows":
        from agent.collectors import _windows

        return _windows
    if name == "linux":
        from agent.collectors import _linux

        return _linux
    if name == "darwin":
        from agent.collectors import _macos

        return _macos
    raise ValueError(f"unsupported platform {name!r} (expected one of {', '.join(PLATFORMS)})")
