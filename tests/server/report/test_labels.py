"""The Vietnamese and English label sets promise the same keys and the same placeholders."""

from __future__ import annotations

import string

from server.report.labels import EN, VI
from server.services.figure import FIGURE_KEYS


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_same_keys() -> None:
    assert set(VI) == set(EN)


def test_same_placeholders() -> None:
    for key in VI:
        assert _fields(VI[key]) == _fields(EN[key]), key


def test_every_figure_has_a_label() -> None:
    for key in FIGURE_KEYS:
        assert f"fig:{key}" in VI


def test_no_empty_label() -> None:
    for labels in (VI, EN):
        assert all(text.strip() for text in labels.values())
