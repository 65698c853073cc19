"""``db backup`` and ``db restore`` on SQLite: consistent while written to, checked, refused while in use."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.cli import main
from server.db import head_revision
from server.models import AuditLog, OrgUnit, table_of
from tests.server.factories import make_unit
from tests.server.ops.conftest import deliver


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object] | None, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 and "--json" in argv else None), out.err


def rows(path: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(query).fetchall()


def test_backup_is_one_consistent_file_while_reports_keep_arriving(
        district_file: tuple[Path, Engine], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, engine = district_file
    unit = make_unit(engine, "XA-02", kind="commune", parent="UBND")
    stop = threading.Event()
    written: list[int] = []

    def keep_writing() -> None:
        day = 2
        while not stop.is_set() and day < 400:
            deliver(engine, unit, f"pc-backup-{day}", day)  # new machines of XA-02 only
            written.append(day)
            day += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 5 and writer.is_alive():  # the backup starts while reports are being written
            stop.wait(0.01)
        code, out, err = run(capsys, "db", "backup", "--out", str(tmp_path / "b" / "kiemke-backup.db"), "--json")
    finally:
        stop.set()
        writer.join()
    assert code == 0, err
    assert len(written) >= 5, "the writer stopped early (see the thread's exception)"
    assert out is not None and out["revision"] == head_revision()
    backup = tmp_path / "b" / "kiemke-backup.db"
    assert sorted(p.name for p in backup.parent.iterdir()) == ["kiemke-backup.db"]  # no -wal beside it
    assert rows(backup, "PRAGMA integrity_check") == [("ok",)]
    # every device's count equals its received reports: no transaction was half copied
    assert rows(backup, "SELECT COUNT(*) FROM device d WHERE reports_received != "
                        "(SELECT COUNT(*) FROM received_report r WHERE r.device_id = d.id)") == [(0,)]
    kept = rows(backup, "SELECT COUNT(*) FROM received_report")[0][0]
    assert 2 + 5 <= int(str(kept)) <= 2 + len(written)


def test_backup_refuses_to_overwrite_a_file(district_file: tuple[Path, Engine], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "old.db"
    existing.write_bytes(b"keep me")
    code, _, err = run(capsys, "db", "backup", "--out", str(existing))
    assert code == 2 and "exists" in err and existing.read_bytes() == b"keep me"


def test_postgresql_is_backed_up_with_pg_dump(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KIEMKE_DATABASE_URL", "postgresql+psycopg://kiemke:secret@db.example/kiemke")
    code, _, err = run(capsys, "db", "backup", "--out", str(tmp_path / "x.db"))
    assert code == 2 and "pg_dump" in err and "secret" not in err
    assert not (tmp_path / "x.db").exists()


def _units(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(table_of(OrgUnit).c.code)).scalars())


def test_restore_brings_back_the_backup_and_audits_it(district_file: tuple[Path, Engine], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path, engine = district_file
    backup = tmp_path / "backup.db"
    assert run(capsys, "db", "backup", "--out", str(backup))[0] == 0
    make_unit(engine, "XA-LATER", kind="commune")
    engine.dispose()  # the server is stopped

    code, out, err = run(capsys, "db", "restore", str(backup), "--json")
    assert code == 0, err
    assert out is not None and out["from"] == head_revision() and out["to"] == head_revision()
    assert _units(engine) == ["UBND", "XA-01"]
    with engine.connect() as conn:
        actions = list(conn.execute(sa.select(table_of(AuditLog).c.action)).scalars())
    assert actions[-1] == "db.restore"
    assert path.exists()


def test_restore_refuses_a_database_in_use_unless_forced(district_file: tuple[Path, Engine], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    _, engine = district_file
    backup = tmp_path / "backup.db"
    assert run(capsys, "db", "backup", "--out", str(backup))[0] == 0
    make_unit(engine, "XA-LATER", kind="commune")
    with engine.connect() as conn:  # a running server holds connections open
        conn.execute(sa.text("SELECT 1"))
        code, _, err = run(capsys, "db", "restore", str(backup))
        assert code == 2 and "in use" in err
        assert "XA-LATER" in _units(engine)
        code, _, err = run(capsys, "db", "restore", str(backup), "--force")
        assert code == 0, err
    assert _units(engine) == ["UBND", "XA-01"]


def test_restore_refuses_what_is_not_a_kiemke_backup(district_file: tuple[Path, Engine], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path, engine = district_file
    engine.dispose()
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (x)")
    future = tmp_path / "future.db"
    assert run(capsys, "db", "backup", "--out", str(future))[0] == 0
    with sqlite3.connect(future) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    before = path.read_bytes()
    for bad, reason in ((text, "not a SQLite database"), (other, "not a kiemke database"),
                        (future, "9999"), (tmp_path / "missing.db", "does not exist")):
        code, _, err = run(capsys, "db", "restore", str(bad))
        assert code == 2 and reason in err, err
    assert path.read_bytes() == before
