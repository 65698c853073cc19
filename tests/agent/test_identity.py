"""The machine id: the OS's own first, then one generated once and kept, then one derived."""

from __future__ import annotations

import uuid
from pathlib import Path

from agent.identity import ID_FILE, generated_id, machine_id


def test_first_candidate_wins(tmp_path: Path) -> None:
    assert machine_id([("smbios_uuid", "abc"), ("machine_id", "def")], tmp_path) == ("abc", "smbios_uuid")
    assert not (tmp_path / ID_FILE).exists()


def test_generated_id_is_kept(tmp_path: Path) -> None:
    first, source = machine_id([], tmp_path / "data")
    assert source == "generated" and uuid.UUID(first)
    assert machine_id([("machine_id", "  ")], tmp_path / "data") == (first, "generated")


def test_a_corrupt_id_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / ID_FILE).write_text("garbage")
    new = generated_id(tmp_path)
    assert new is not None and (tmp_path / ID_FILE).read_text().strip() == new


def test_without_a_usable_data_dir_the_id_is_derived(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    one = machine_id([], blocker / "sub", seed="PC-01|aa:bb")
    assert one == machine_id([], None, seed="PC-01|aa:bb") and one[1] == "derived"
    assert machine_id([], None)[1] == "generated"
