"""One collection: walk the table of fact families against a source, turn failures into ``errors``, never crash.

``collect_report()`` reads this machine; ``collect_report(replay=DIR)`` reads a captured folder from any OS.
The connectivity check starts first and runs in threads beside the collectors, bounded to 2 s in all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from agent import __version__
from agent.capture import INTERNET, ReplayError, ReplaySource
from agent.collectors import PlatformModule, current_platform, platform_module
from agent.collectors._common import Errors, ProbeError, Source, decode
from agent.connectivity import CONFIGURED, Configured, ConnectivityCheck, connectivity_targets
from agent.identity import machine_id
from shared.schema import (
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

T = TypeVar("T")


class CollectError(RuntimeError):
    """No report could be made at all (unsupported OS, not a capture folder)."""


@dataclass(frozen=True)
class Family:
    """One fact family: the name its failures carry in ``errors``, its value when it fails, its per-OS reader."""

    name: str
    default: Callable[[], Any]
    #: (module, source, errors, the families read so far) -> the value; a family may build on earlier ones.
    read: Callable[[PlatformModule, Source, Errors, dict[str, Any]], Any]


#: Every fact family in collection order; the name is also the report's field (``identity`` feeds machine_id).
FAMILIES: tuple[Family, ...] = (
    Family("hostname", lambda: None, lambda m, src, errors, _: m.hostname(src, errors)),
    Family("identity", list, lambda m, src, errors, _: m.identity(src, errors)),
    Family("hardware", Hardware, lambda m, src, errors, _: m.hardware(src, errors)),
    Family("os", OperatingSystem, lambda m, src, errors, _: m.operating_system(src, errors)),
    Family("antivirus", list, lambda m, src, errors, _: m.antivirus(src, errors)),
    Family("firewall", Firewall, lambda m, src, errors, _: m.firewall(src, errors)),
    Family("network", Network, lambda m, src, errors, _: m.network(src, errors)),
    Family("peripherals", Peripherals, lambda m, src, errors, _: m.peripherals(src, errors)),
    # After antivirus: which products were found decides whose history is missing (detections unknown, not 0).
    # A failure here leaves None ("not collected"), with the reason in errors.
    Family("detections", lambda: None, lambda m, src, errors, facts: m.detections(src, errors, facts["antivirus"])),
)


def _guarded(family: str, errors: Errors, default: Callable[[], T], run: Callable[[], T]) -> T:
    """Run one fact family; an unexpected exception becomes an ``internal_error`` entry, never a crash."""
    try:
        return run()
    except ProbeError as exc:
        errors.add(family, exc.error, exc.detail)
    except Exception as exc:
        errors.add(family, "internal_error", f"{type(exc).__name__}: {exc}")
    return default()


def collect_facts(module: PlatformModule, src: Source, errors: Errors) -> dict[str, Any]:
    """Every family of ``FAMILIES`` read from ``src``, by name; a failed family gives its default."""
    facts: dict[str, Any] = {}
    for family in FAMILIES:
        facts[family.name] = _guarded(family.name, errors, family.default,
                                      partial(family.read, module, src, errors, facts))
    return facts


def _replayed_internet(src: Source, errors: Errors) -> InternetCheck:
    """The check captured with the folder; unknown when there is none (a replay never probes the network)."""
    try:
        text = decode(src.read_bytes(INTERNET))
    except ProbeError:
        return InternetCheck()
    try:
        return InternetCheck.model_validate(json.loads(text))
    except ValueError as exc:
        errors.parsed("network", INTERNET, exc)
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
        check = ConnectivityCheck(connectivity_targets(targets, public_target))  # runs while we collect
        src = platform_module(name).live_source(timeout)
    errors = Errors()
    facts = collect_facts(platform_module(src.platform), src, errors)
    host: str | None = facts.pop("hostname")
    ids: list[tuple[str, str]] = facts.pop("identity")
    net: Network = facts["network"]
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
        errors=errors.items[:200],
        **facts,
    )
