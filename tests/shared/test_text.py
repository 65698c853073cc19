"""The one rule for outside text: NFC, no control characters, no surrogates."""

from hypothesis import given
from hypothesis import strategies as st

from shared.text import clean_text, has_forbidden


def test_decomposed_vietnamese_becomes_precomposed() -> None:
    assert clean_text("co\u0301") == "có"
    assert clean_text("Ma\u0301y in") == "Máy in"


def test_nul_escape_and_surrogates_are_removed() -> None:
    assert clean_text("PC\x00-01") == "PC-01"
    assert clean_text("\x1b[31mred\x1b[0m") == "[31mred[0m"
    assert clean_text("a\ud800b") == "ab"
    assert has_forbidden("a\x00") and not has_forbidden("Máy tính")


def test_line_breaks_only_in_multiline_text() -> None:
    assert clean_text("a\r\nb\tc") == "abc"
    assert clean_text("a\r\nb\tc", multiline=True) == "a\r\nb\tc"


@given(st.text())
def test_clean_text_is_idempotent_and_encodable(value: str) -> None:
    cleaned = clean_text(value)
    assert clean_text(cleaned) == cleaned
    assert not has_forbidden(cleaned)
    cleaned.encode("utf-8")  # never raises: no lone surrogates left
