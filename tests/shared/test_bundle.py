"""Bundles verify when intact and refuse any tampering."""

from __future__ import annotations

import uuid

import pytest

from shared.bundle import BundleError, is_bundle, make_bundle, new_signing_key, public_key_of, verify_bundle


def test_signed_bundle_round_trip_and_tamper() -> None:
    private, public = new_signing_key()
    assert public_key_of(private) == public
    agent = uuid.uuid4()
    bundle = make_bundle(agent, [{"machine_id": "m", "hostname": "pc-1"}], private)
    assert is_bundle(bundle)
    assert verify_bundle(bundle, public) == [{"machine_id": "m", "hostname": "pc-1"}]
    bundle["reports"][0]["hostname"] = "pc-2"
    with pytest.raises(BundleError):
        verify_bundle(bundle, public)


def test_other_key_refused() -> None:
    private, _ = new_signing_key()
    _, other_public = new_signing_key()
    bundle = make_bundle(uuid.uuid4(), [], private)
    with pytest.raises(BundleError):
        verify_bundle(bundle, other_public)
