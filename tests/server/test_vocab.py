"""The vocabularies are declared once (``server/vocab.py``) and every value is worded in both languages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from server import vocab
from server.console import i18n
from server.report import labels
from server.services import state
from server.vocab import VOCABULARIES, Vocabulary

ROOT = Path(__file__).resolve().parents[2]
#: Files allowed to spell values out: the vocabulary itself; state.py's ``Literal`` types, which mypy needs
#: written out (``test_the_state_types_take_the_same_values`` ties them to the vocabulary); and ingest.py,
#: whose chassis-to-kind mapping moves to ``vocab.COMPUTER_KINDS`` with the ingest restructure under way there.
SPELLED_OUT = {"server/vocab.py", "server/services/state.py", "server/services/ingest.py"}
CATALOGUES: dict[str, dict[str, dict[str, str]]] = {
    "console": {"vi": i18n.VI, "en": i18n.EN},
    "report": {"vi": labels.VI, "en": labels.EN},
}


def missing_labels(vocabularies: tuple[Vocabulary, ...], catalogues: dict[str, dict[str, dict[str, str]]]) -> list[str]:
    """``lang key`` for every value of every vocabulary without a non-empty label in its catalogue."""
    return [f"{lang} {v.label_key(value)}" for v in vocabularies for lang, texts in catalogues[v.catalogue].items()
            for value in v.values if not texts.get(v.label_key(value), "").strip()]


def copies(root: Path, vocabularies: tuple[Vocabulary, ...]) -> list[str]:
    """Source files (but ``SPELLED_OUT``) that spell out three values of a vocabulary in a row."""
    found = []
    for v in vocabularies:
        if len(v.values) < 3:
            continue
        runs = [v.values[i:i + 3] for i in range(len(v.values) - 2)]
        patterns = [re.compile(r"[\"']\s*,\s*[\"']".join(re.escape(x) for x in run)) for run in runs]
        for path in sorted((root / "server").rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if relative in SPELLED_OUT or relative.startswith("server/migrations/"):
                continue
            text = path.read_text(encoding="utf-8")
            if any(p.search(text) for p in patterns):
                found.append(f"{relative}: {v.name}")
    return found


def test_every_value_is_worded_in_both_languages() -> None:
    assert missing_labels(VOCABULARIES, CATALOGUES) == []


def test_an_unworded_value_is_caught() -> None:
    broken = (Vocabulary("device status", (*vocab.STATUSES, "lost"), "status:", "console"),)
    assert missing_labels(broken, CATALOGUES) == ["vi status:lost", "en status:lost"]


def test_no_module_keeps_its_own_copy(tmp_path: Path) -> None:
    assert copies(ROOT, VOCABULARIES) == []
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "own.py").write_text('KINDS = ("desktop", "laptop", "server")\n')
    assert copies(tmp_path, VOCABULARIES) == ["server/own.py: device kind"]


def test_the_state_types_take_the_same_values() -> None:
    # services/state.py keeps Literal types for mypy; they must name the same values (broken: being added there).
    assert get_args(state.UnitKind) == vocab.UNIT_KINDS
    assert get_args(state.DeviceKind) == vocab.DEVICE_KINDS
    assert get_args(state.InternetLink) == vocab.INTERNET_LINKS
    assert set(get_args(state.DeviceStatus)) <= set(vocab.STATUSES)
    assert state.COMPUTER_KINDS == vocab.COMPUTER_KINDS
    assert vocab.STAFF_COMPUTER_KINDS <= vocab.COMPUTER_KINDS and set(vocab.HAND_KINDS) < set(vocab.DEVICE_KINDS)
    assert set(vocab.STAFF_KINDS) <= set(vocab.UNIT_KINDS) and set(vocab.SHOP_KINDS) <= set(vocab.STAFF_KINDS)
    assert all(kinds <= set(vocab.DEVICE_KINDS) for kinds in vocab.SHOP_EQUIPMENT.values())


def test_columns_describe_their_values() -> None:
    from server.models import DeviceFacts

    assert DeviceFacts.model_fields["status"].description == "in_use, spare, broken or retired"
