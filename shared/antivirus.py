"""Antivirus rules both the agent and the server apply: which products ship with the operating system.

Microsoft Defender (called "Windows Defender" by Security Center on Windows 10 and 11) and Apple's XProtect
are part of the OS: the agent merges Defender's own status into Security Center's entry for it, and the
server counts them as licensed when the district's policy says so. One rule decides it for both.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: Report sources that only ever describe the OS's own antivirus.
BUILTIN_SOURCES = frozenset({"defender", "xprotect"})
# Whole words, so that "Bitdefender" is not taken for Defender.
_BUILTIN_NAME = re.compile(r"\b(?:windows|microsoft) defender\b|\bxprotect\b")


@lru_cache(maxsize=1024)  # a district reports a handful of product names on thousands of PCs
def _builtin_name(name: str) -> bool:
    return _BUILTIN_NAME.search(" ".join(name.casefold().split())) is not None


def is_builtin_antivirus(name: str, source: str | None = None) -> bool:
    """True for the antivirus that ships with the OS (Microsoft Defender, XProtect), by source or by name."""
    return source in BUILTIN_SOURCES or _builtin_name(name)
