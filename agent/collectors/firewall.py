"""Host firewall: on or off, and per-profile detail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.schema import Firewall, FirewallProfile

if TYPE_CHECKING:
    from agent.collectors import PlatformModule
    from agent.collectors._source import Errors, Source

FAMILY = "firewall"


def overall(profiles: list[FirewallProfile]) -> bool | None:
    """True only if every active profile is on.

    A profile whose activity is unknown counts as active: claiming protection we cannot see is worse than
    a false alarm. Unknown when no profile says whether it is on.
    """
    relevant = [p for p in profiles if p.active is not False]
    if not relevant:
        return None
    if any(p.enabled is False for p in relevant):
        return False
    if all(p.enabled is True for p in relevant):
        return True
    return None


def collect(platform: PlatformModule, src: Source, errors: Errors) -> Firewall:
    """Firewall facts of ``src``; failures land in ``errors``."""
    return platform.firewall(src, errors)
