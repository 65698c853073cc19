"""The one rule for text that comes from outside (agents, spreadsheets, logins, forms): what a name may hold.

Text is normalised to NFC (a Vietnamese ``có`` typed as ``o`` + combining marks equals the precomposed one),
and characters that have no business in a name are removed: C0/C1 control characters (NUL, which PostgreSQL
refuses, and ESC, which starts a terminal escape sequence), lone surrogates (not encodable as UTF-8) and the
non-characters U+FFFE/U+FFFF. Multi-line text keeps its line breaks and tabs.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls except TAB/LF/CR, DEL, C1 controls, surrogates, the two non-characters of the BMP.
_MULTILINE_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# One line: TAB, LF and CR go too.
_LINE_BAD = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str, *, multiline: bool = False) -> str:
    """``value`` in NFC without control characters, surrogates or non-characters (line breaks kept if asked)."""
    pattern = _MULTILINE_BAD if multiline else _LINE_BAD
    return unicodedata.normalize("NFC", pattern.sub("", value))


def has_forbidden(value: str, *, multiline: bool = False) -> bool:
    """Whether ``clean_text`` would remove anything (for callers that refuse rather than strip)."""
    return (_MULTILINE_BAD if multiline else _LINE_BAD).search(value) is not None
