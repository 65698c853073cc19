"""The one rule for antivirus built into the OS, shared by the agent's merge and the server's licensing."""

from __future__ import annotations

import pytest

from shared.antivirus import is_builtin_antivirus


@pytest.mark.parametrize("name", ["Windows Defender", "Microsoft Defender Antivirus", "microsoft  defender",
                                  "XProtect", "Windows Defender (Windows Server)"])
def test_the_os_antivirus_is_recognised_by_name(name: str) -> None:
    assert is_builtin_antivirus(name, "security_center")


@pytest.mark.parametrize("name", ["Bitdefender Total Security", "Bitdefender Endpoint Security Tools", "Bkav Pro",
                                  "Kaspersky Endpoint Security 11 for Windows", "ClamAV", "DefenderPlus"])
def test_other_products_are_not_builtin(name: str) -> None:
    assert not is_builtin_antivirus(name, "security_center")


@pytest.mark.parametrize("source", ["defender", "xprotect"])
def test_the_source_alone_says_builtin(source: str) -> None:
    assert is_builtin_antivirus("Antivirus", source)
