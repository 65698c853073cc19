"""The firewall is on only if every active profile is on."""

from __future__ import annotations

from agent.collectors.firewall import overall
from shared.schema import FirewallProfile


def _p(name: str, enabled: bool | None, active: bool | None) -> FirewallProfile:
    return FirewallProfile(name=name, enabled=enabled, active=active)


def test_inactive_profiles_do_not_count() -> None:
    assert overall([_p("Domain", True, True), _p("Public", False, False)]) is True


def test_unknown_activity_counts_as_active() -> None:
    assert overall([_p("Domain", True, None), _p("Public", False, None)]) is False


def test_unknown_state_of_an_active_profile_is_unknown() -> None:
    assert overall([_p("Domain", True, True), _p("Private", None, True)]) is None
    assert overall([]) is None
    assert overall([_p("Public", True, False)]) is None
