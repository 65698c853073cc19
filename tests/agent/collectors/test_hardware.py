"""Chassis from SMBIOS codes and hypervisor names."""

from __future__ import annotations

import pytest

from agent.collectors.hardware import chassis_from, is_virtual


@pytest.mark.parametrize(("codes", "chassis"), [
    ([3], "desktop"), ([6], "desktop"), ([35], "desktop"), ([13], "desktop"), ([9], "laptop"), ([10], "laptop"),
    ([31], "laptop"), ([23], "server"), ([17], "server"), ([1], "other"), ([2], None), ([], None),
    ([3, 10], "laptop"),  # a docked notebook reports both; the notebook is what moves
])
def test_smbios_codes(codes: list[int], chassis: str | None) -> None:
    assert chassis_from(codes) == chassis


@pytest.mark.parametrize(("vendor", "model"), [
    ("VMware, Inc.", "VMware Virtual Platform"), ("innotek GmbH", "VirtualBox"), ("QEMU", "Standard PC (Q35 + ICH9)"),
    ("Microsoft Corporation", "Virtual Machine"), ("Xen", "HVM domU"), ("Parallels Software", "Parallels Virtual"),
])
def test_hypervisors_are_virtual(vendor: str, model: str) -> None:
    assert is_virtual(vendor, model)
    assert chassis_from([3], vendor, model) == "virtual"


def test_real_machines_are_not_virtual() -> None:
    assert not is_virtual("Dell Inc.", "OptiPlex 3020")
    assert not is_virtual("Microsoft Corporation", "Surface Pro 7")
    assert not is_virtual(None, None)
