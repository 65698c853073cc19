"""One collection: run every fact family against a source, turn failures into ``errors``, never crash.

``collect_report()`` reads this machine; ``collect_report(replay=DIR)`` reads a captured folder from any OS.
The connectivity check starts first and runs in threads beside the collectors, bounded to 2 s in all.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from agent import __version__
from agent.capture import INTERNET, ReplayError, ReplaySource
from agent.collectors import antivirus, current_platform, firewall, hardware, network, os_info, peripherals
from agent.collectors import platform_module as _platform_module
from agent.collectors._source import Errors, ProbeError, Source, decode
from agent.identity import machine_id
from shared.schema import (
    AntivirusProduct,
    Firewall,
    Hardware,
    InternetCheck,
    InventoryReport,
    Network,
    OperatingSystem,
    Peripherals,
)

#: Upper bound for the slowest probe (Windows' single PowerShell run).
DEFAULT_TIMEOUT = 60.0
#: Environment variable that replaces the default public connectivity target; empty or "none" disables it.
PUBLIC_TARGET_ENV = "KIEMKE_PUBLIC_TARGET"

T = TypeVar("T")


class CollectError(RuntimeError):
    """No report could be made at all (unsupported OS, not a capture folder)."""


class Configured(enum.Enum):
    """Marker: use the public target from the environment or the built-in default."""

    TARGET = "configured"


CONFIGURED = Configured.TARGET


def parse_public_target(value: str) -> str | None:
    """A public target as written by a person: ``host:port``, or None when empty, 'none' or 'off'."""
    value = value.strip()
    return None if value.lower() in ("", "none", "off") else value


def configured_public_target() -> str | None:
    """``KIEMKE_PUBLIC_TARGET`` if set (empty or 'none' turns the public check off), else the default."""
    value = os.environ.get(PUBLIC_TARGET_ENV)
    return network.DEFAULT_PUBLIC_TARGET if value is None else parse_public_target(value)


def connectivity_targets(targets: Sequence[str] | None, public_target: str | Configured | None) -> list[str]:
    """The public target (unless turned off) followed by the given ones, without repeats."""
    public = configured_public_target() if public_target is CONFIGURED else public_target
    wanted = [*([public] if isinstance(public, str) and public else []), *(targets or [])]
    return list(dict.fromkeys(t.strip() for t in wanted if t and t.strip()))


def _guarded(family: str, errors: Errors, default: Callable[[], T], run: Callable[[], T]) -> T:
    """Run one fact family; an unexpected exception becomes an ``internal_error`` entry, never a crash."""
    try:
        return run()
    except ProbeError as exc:
        errors.add(family, exc.error, exc.detail)
    except Exception as exc:
        errors.add(family, "internal_error", f"{type(exc).__name__}: {exc}")
    return default()


def _replayed_internet(src: Source, errors: Errors) -> InternetCheck:
    """The check captured with the folder; unknown when there is none (a replay never probes the network)."""
    try:
        text = decode(src.read_bytes(INTERNET))
    except ProbeError:
        return InternetCheck()
    try:
        return InternetCheck.model_validate(json.loads(text))
    except ValueError as exc:
        errors.parsed(network.FAMILY, INTERNET, exc)
        return InternetCheck()


def collect_report(
    *,
    replay: Path | None = None,
    targets: Sequence[str] | None = None,
    data_dir: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    public_target: str | Configured | None = CONFIGURED,
) -> InventoryReport:
    """Collect one report from this machine, or from the capture folder ``replay``.

    ``targets`` are extra connectivity targets (``host:port`` or URLs, e.g. the server); the public target
    comes first unless ``public_target`` is None. ``data_dir`` keeps the generated machine id when the OS has
    none (a replay ignores it: that id is this machine's). Raises ``CollectError`` only when no report can be
    made; every failed fact lands in ``errors``.
    """
    collected_at = datetime.now(timezone.utc)
    check = None
    if replay is not None:
        try:
            src: Source = ReplaySource(replay)
        except ReplayError as exc:
            raise CollectError(str(exc)) from None
    else:
        name = current_platform()
        if name is None:
            raise CollectError("this operating system is not supported (windows, linux and darwin are)")
        from agent.collectors.network import ConnectivityCheck

        check = ConnectivityCheck(connectivity_targets(targets, public_target))  # runs while we collect
        src = _platform_module(name).live_source(timeout)
    module = _platform_module(src.platform)
    errors = Errors()

    host = _guarded("hostname", errors, lambda: None, lambda: module.hostname(src, errors))
    ids: list[tuple[str, str]] = _guarded("identity", errors, list, lambda: module.identity(src, errors))
    hw = _guarded(hardware.FAMILY, errors, Hardware, lambda: hardware.collect(module, src, errors))
    osi = _guarded(os_info.FAMILY, errors, OperatingSystem, lambda: os_info.collect(module, src, errors))
    avs: list[AntivirusProduct] = _guarded(
        antivirus.FAMILY, errors, list, lambda: antivirus.collect(module, src, errors)
    )
    fw = _guarded(firewall.FAMILY, errors, Firewall, lambda: firewall.collect(module, src, errors))
    net = _guarded(network.FAMILY, errors, Network, lambda: network.collect(module, src, errors))
    per = _guarded(peripherals.FAMILY, errors, Peripherals, lambda: peripherals.collect(module, src, errors))
    net.internet = check.result() if check is not None else _replayed_internet(src, errors)

    seed = "|".join([host or "", *sorted(i.mac for i in net.interfaces if i.mac)]).strip("|")
    # The id kept in data_dir belongs to this machine, never to a replayed one.
    mid, mid_source = machine_id(ids, data_dir if replay is None else None, seed or None)
    return InventoryReport(
        machine_id=mid,
        machine_id_source=mid_source,
        hostname=host[:512] if host else None,  # a broken name must not cost the whole report
        platform=src.platform,
        collected_at=collected_at,
        agent_version=__version__,
        hardware=hw,
        os=osi,
        antivirus=avs,
        firewall=fw,
        network=net,
        peripherals=per,
        errors=errors.items[:200],
    )
