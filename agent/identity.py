"""The stable machine id: the OS's own id where it has one, else one generated once and kept on disk.

Order: SMBIOS UUID (survives reinstalls of the OS), then /etc/machine-id, the registry's MachineGuid or the
Mac's platform UUID, then a UUID the agent generated and stored in its data directory. Without a data
directory the last resort is derived from the hostname and MAC addresses, so it at least repeats.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

ID_FILE = "machine-id"
_NAMESPACE = uuid.UUID("5f6b2c1e-3d4a-4b8e-9c7d-2a1f0e9d8c7b")  # kiemke's own namespace for derived ids
_VALID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def machine_id(
    candidates: Sequence[tuple[str, str]], data_dir: Path | None = None, seed: str | None = None
) -> tuple[str, str]:
    """(machine_id, machine_id_source): the first candidate, else the stored/generated id, else a derived one."""
    for source, value in candidates:
        if value.strip():
            return value.strip()[:128], source
    if data_dir is not None:
        stored = generated_id(data_dir)
        if stored is not None:
            return stored, "generated"
    if seed:
        return str(uuid.uuid5(_NAMESPACE, seed)), "derived"
    return str(uuid.uuid4()), "generated"


def generated_id(data_dir: Path) -> str | None:
    """The id kept in ``data_dir/machine-id``, created on first use; None when the directory is unusable."""
    path = data_dir / ID_FILE
    try:
        text = path.read_text(encoding="ascii").strip()
        if _VALID.match(text):
            return text
    except (OSError, UnicodeDecodeError):
        pass
    new = str(uuid.uuid4())
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(new + "\n", encoding="ascii")
        os.replace(partial, path)  # atomic: a crash never leaves half an id behind
    except OSError:
        return None
    return new
