"""Hardware and the evidence of its age: make, model, serial, chassis, CPU, memory, disks, firmware date."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from shared.schema import Chassis, Hardware

if TYPE_CHECKING:
    from agent.collectors import PlatformModule
    from agent.collectors._source import Errors, Source

FAMILY = "hardware"

# SMBIOS 3.x system enclosure types (DSP0134 table "System Enclosure or Chassis Types").
_DESKTOP = {3, 4, 5, 6, 7, 13, 15, 16, 24, 34, 35, 36}
_LAPTOP = {8, 9, 10, 11, 14, 30, 31, 32}
_SERVER = {17, 23, 25, 28, 29}
_UNKNOWN = {2}
# A docked notebook reports both a notebook and a docking-station code: the notebook decides.
_GROUPS: tuple[tuple[set[int], Chassis], ...] = ((_LAPTOP, "laptop"), (_SERVER, "server"), (_DESKTOP, "desktop"))

# Vendors and models hypervisors write into SMBIOS. Hyper-V says "Microsoft Corporation" / "Virtual Machine".
_VIRTUAL = re.compile(
    r"vmware|virtualbox|innotek|qemu|\bkvm\b|bochs|xen|parallels|virtual machine|google compute engine"
    r"|amazon ec2|openstack|bhyve|cloud hypervisor",
    re.IGNORECASE,
)


def is_virtual(*names: str | None) -> bool:
    """True when a vendor or model string names a hypervisor."""
    return any(name and _VIRTUAL.search(name) for name in names)


def chassis_from(codes: Iterable[int], vendor: str | None = None, model: str | None = None) -> Chassis | None:
    """Chassis from SMBIOS enclosure codes, overridden by ``virtual`` when vendor or model names a hypervisor."""
    if is_virtual(vendor, model):
        return "virtual"
    known = [c for c in codes if c not in _UNKNOWN]
    for group, label in _GROUPS:
        if any(c in group for c in known):
            return label
    return "other" if known else None


def collect(platform: PlatformModule, src: Source, errors: Errors) -> Hardware:
    """Hardware facts of ``src``; failures land in ``errors``."""
    return platform.hardware(src, errors)
