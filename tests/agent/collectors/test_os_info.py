"""Epoch seconds become whole-second UTC datetimes."""

from __future__ import annotations

from datetime import datetime, timezone

from agent.collectors.os_info import from_epoch


def test_from_epoch() -> None:
    assert from_epoch(1709856300.7) == datetime(2024, 3, 8, 0, 5, tzinfo=timezone.utc)
    assert from_epoch(None) is None and from_epoch(0) is None
