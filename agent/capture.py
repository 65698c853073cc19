"""Capture this machine's raw outputs to a folder, and replay such a folder as a source on any OS.

Layout: ``DIR/platform`` (one word: windows, linux or darwin) and ``DIR/<platform>/<name>`` per raw output.
A probe that failed leaves ``<name>.error`` (first line the reason, then the detail) so replay reports the
same failure. ``<platform>/internet.json`` holds the connectivity check made at capture time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from agent.collectors import PLATFORMS, current_platform, platform_module
from agent.collectors._common import ProbeError

INTERNET = "internet.json"


class ReplayError(ValueError):
    """The folder is not a capture: no report can be made from it."""


class ReplaySource:
    """A captured folder, read as the machine it came from. Missing files are unknown facts, not crashes."""

    live = False

    def __init__(self, folder: Path) -> None:
        marker = folder / "platform"
        try:
            platform = marker.read_text(encoding="utf-8-sig").strip().lower()
        except OSError as exc:
            raise ReplayError(f"{folder} is not a capture folder: cannot read {marker.name} ({exc.strerror})") from None
        if platform not in PLATFORMS:
            raise ReplayError(f"{marker} names {platform!r}, expected one of {', '.join(PLATFORMS)}")
        self.platform = platform
        self.folder = folder
        self.root = folder / platform

    def read_bytes(self, name: str) -> bytes:
        """The captured output ``name``, or the failure captured in its place."""
        path = self.root / name
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ProbeError("probe_failed", f"{self.platform}/{name}: {exc}") from None
        try:
            error, _, detail = (self.root / f"{name}.error").read_text(encoding="utf-8").partition("\n")
        except OSError:
            raise ProbeError("not_found", f"{self.platform}/{name} is not in the capture") from None
        raise ProbeError(error.strip() or "probe_failed", detail.strip() or name)

    def names(self, prefix: str) -> list[str]:
        """Captured names under ``prefix``."""
        folder = self.root / prefix
        if not folder.is_dir():
            return []
        return sorted(f"{prefix}{p.name}" for p in folder.iterdir() if p.is_file() and not p.name.endswith(".error"))


def capture(
    out: Path,
    *,
    targets: Sequence[str] | None = None,
    public_target: str | None = None,
    timeout: float = 60.0,
) -> None:
    """Write this machine's raw outputs (and a connectivity check) to ``out``; never stops at a failed probe."""
    from agent.connectivity import ConnectivityCheck

    platform = current_platform()
    if platform is None:
        raise ReplayError("this operating system is not supported")
    wanted = [*([public_target] if public_target else []), *(targets or [])]
    check = ConnectivityCheck(wanted) if wanted else None
    module = platform_module(platform)
    src = module.live_source(timeout)
    root = out / platform
    root.mkdir(parents=True, exist_ok=True)
    (out / "platform").write_text(platform + "\n", encoding="utf-8")
    for name in module.source_names(src):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in (path, path.with_name(path.name + ".error")):
            stale.unlink(missing_ok=True)
        try:
            path.write_bytes(src.read_bytes(name))
        except ProbeError as exc:
            path.with_name(path.name + ".error").write_text(f"{exc.error}\n{exc.detail}\n", encoding="utf-8")
    if check is not None:
        (root / INTERNET).write_text(json.dumps(check.result().model_dump(mode="json"), indent=2), encoding="utf-8")
