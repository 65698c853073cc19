"""``kiemke-agent capture --out DIR`` then ``collect --replay DIR``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agent.cli import main
from shared.schema import InventoryReport


@pytest.mark.skipif(sys.platform != "linux", reason="captures this Linux machine")
def test_capture_then_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cap"
    assert main(["capture", "--out", str(out)]) == 0
    assert "collect --replay" in capsys.readouterr().err
    assert main(["collect", "--replay", str(out), "--json"]) == 0
    assert InventoryReport.model_validate_json(capsys.readouterr().out).platform == "linux"


def test_capture_into_a_file_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["capture", "--out", str(blocker)]) == 2
    assert "kiemke-agent capture" in capsys.readouterr().err
