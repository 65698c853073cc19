"""The Vietnamese and English label sets promise the same keys and the same placeholders."""

from __future__ import annotations

import string

from server.report.labels import EN, VI, Labels
from server.services.figure import FIGURE_KEYS


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _base(key: str) -> str:
    return key.removesuffix("#one")


def test_same_keys() -> None:
    """Both sets hold the same keys; a singular (``key#one``, English only) belongs to a key of both."""
    assert {_base(k) for k in VI} == {_base(k) for k in EN} == {k for k in EN if "#" not in k}
    assert {k for k in VI if "#" in k} <= {k for k in EN if "#" in k}


def test_same_placeholders() -> None:
    for key in EN:
        assert _fields(EN[key]) == _fields(VI[_base(key)]), key


def test_one_computer_is_singular_in_english() -> None:
    en, vi = Labels("en"), Labels("vi")
    assert en("evidence:free", n=1, count="1") == "1 computer on free antivirus"
    assert en("evidence:free", n=2, count="2") == "2 computers on free antivirus"
    assert vi("evidence:free", n=1, count="1") == vi("evidence:free", n=2, count="1")


def test_every_figure_has_a_label() -> None:
    for key in FIGURE_KEYS:
        assert f"fig:{key}" in VI


def test_no_empty_label() -> None:
    for labels in (VI, EN):
        assert all(text.strip() for text in labels.values())
