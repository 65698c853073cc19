"""Signed report bundles carried on a USB stick from air-gapped PCs, and offline enrolment files.

A bundle is one JSON file::

    {"format": "kiemke-bundle", "version": 1, "agent_id": "...", "created_at": "...",
     "reports": [<InventoryReport as JSON>, ...], "signature": "<base64 Ed25519 signature>"}

The signature covers the canonical JSON (sorted keys, no spaces, UTF-8) of every field but ``signature``.
The agent signs with its Ed25519 private key; the server verifies with the public key it registered at
enrolment (``EnrollRequest.public_key``) or created in the offline enrolment file.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field

BUNDLE_FORMAT = "kiemke-bundle"
BUNDLE_VERSION = 1
OFFLINE_ENROLMENT_FORMAT = "kiemke-offline-enrolment"


class BundleError(ValueError):
    """A bundle that is malformed, unsigned or whose signature does not verify."""


class OfflineEnrolment(BaseModel):
    """What ``kiemke-server enrol-offline`` writes and ``kiemke-agent enroll --offline FILE`` installs."""

    format: str = Field(OFFLINE_ENROLMENT_FORMAT, description="Always 'kiemke-offline-enrolment'")
    agent_id: uuid.UUID = Field(description="The agent's id on the server")
    agent_key: str = Field(description="Bearer key, for the day the PC is ever connected")
    private_key: str = Field(description="Base64 raw Ed25519 private key that signs bundles")
    unit_code: str = Field(description="Unit the device belongs to")
    device_name: str = Field(description="Name the officer gave the device")
    issued_at: datetime = Field(description="When the file was made (UTC)")


def canonical_bytes(payload: dict[str, Any]) -> bytes:
    """The bytes that are signed: every field except ``signature``, canonical JSON."""
    body = {k: v for k, v in payload.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def new_signing_key() -> tuple[str, str]:
    """A fresh Ed25519 key pair as (private, public), both base64 of the raw bytes."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(private).decode(), base64.b64encode(public).decode()


def public_key_of(private_key_b64: str) -> str:
    """The base64 public key that belongs to a base64 private key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key_b64))
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def make_bundle(agent_id: uuid.UUID, reports: list[dict[str, Any]], private_key_b64: str) -> dict[str, Any]:
    """A signed bundle of ``reports`` (already JSON-ready dicts)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    payload: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "agent_id": str(agent_id),
        "created_at": datetime.now(timezone.utc).isoformat(),
        "reports": reports,
    }
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key_b64))
    payload["signature"] = base64.b64encode(key.sign(canonical_bytes(payload))).decode()
    return payload


def is_bundle(payload: object) -> bool:
    """True when a parsed JSON document claims to be a bundle (then it must verify)."""
    return isinstance(payload, dict) and payload.get("format") == BUNDLE_FORMAT


def bundle_agent_id(payload: dict[str, Any]) -> uuid.UUID:
    """The agent id a bundle claims, to look up its public key; BundleError when absent or malformed."""
    try:
        return uuid.UUID(str(payload["agent_id"]))
    except (KeyError, ValueError) as exc:
        raise BundleError("bundle has no valid agent_id") from exc


def verify_bundle(payload: dict[str, Any], public_key_b64: str) -> list[dict[str, Any]]:
    """The bundle's reports when its signature verifies with ``public_key_b64``; BundleError otherwise."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if payload.get("version") != BUNDLE_VERSION:
        raise BundleError(f"unsupported bundle version {payload.get('version')!r}")
    reports = payload.get("reports")
    signature = payload.get("signature")
    if not isinstance(reports, list) or not isinstance(signature, str):
        raise BundleError("bundle lacks reports or signature")
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        key.verify(base64.b64decode(signature), canonical_bytes(payload))
    except (InvalidSignature, ValueError) as exc:
        raise BundleError("bundle signature does not verify: it was altered or signed by another key") from exc
    return [r for r in reports if isinstance(r, dict)]
