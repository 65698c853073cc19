"""``kiemke-server report`` end to end on a SQLite database in a temporary data directory."""

from __future__ import annotations

import json
from pathlib import Path

import docx
import pytest
from sqlmodel import select

from server.cli import main
from server.config import Settings
from server.db import open_database, reading
from server.report.store import ReportSnapshot
from server.services.ingest import Delivery, receive
from tests.server.factories import T0, make_report, make_unit


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory with a district, a commune of four officials and one reporting PC."""
    for name in ("KIEMKE_DATABASE_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    engine = open_database(Settings.from_env().url)
    make_unit(engine, "UBND", staff=None)
    commune = make_unit(engine, "XA-01", kind="commune", parent="UBND", name="Xã Tân Bình", staff=4, lan=True)
    result = receive(engine, make_report("m-1", collected_at=T0), lambda _s: Delivery(via="http", unit_id=commune))
    assert result.status == "accepted"
    engine.dispose()
    return tmp_path


def test_markdown_to_standard_output(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--as-of", "2024-05-01", "--period", "06 tháng đầu năm 2024"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# BÁO CÁO SỐ LIỆU HẠ TẦNG KỸ THUẬT VÀ AN TOÀN THÔNG TIN")
    assert "**(Đến 01/05/2024)**" in out
    assert "Cán bộ, công chức, viên chức được trang bị máy tính để làm việc: 25,00% (1/4)." in out


def test_json_english_for_one_unit(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--as-of", "2024-05-01", "--unit", "XA-01", "--lang", "en", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["unit"], data["unit_name"], data["lang"]) == ("XA-01", "Xã Tân Bình", "en")
    assert data["figures"]["computers_per_staff"]["numerator"] == 1


def test_docx_needs_an_output_file(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--format", "docx"]) == 2
    assert "--format docx needs --out FILE" in capsys.readouterr().err


def test_docx_to_file_and_kept(data_dir: Path) -> None:
    out = data_dir / "bao-cao" / "2024-05-01.docx"
    assert main(["report", "--as-of", "2024-05-01", "--format", "docx", "--out", str(out), "--keep", "--items"]) == 0
    opened = docx.Document(str(out))
    assert any(p.text == "Phụ lục 2. Danh sách chi tiết theo từng chỉ tiêu" for p in opened.paragraphs)
    engine = open_database(Settings.from_env().url)
    with reading(engine) as session:
        kept = session.exec(select(ReportSnapshot)).all()
    engine.dispose()
    assert [(k.as_of.isoformat(), k.trigger) for k in kept] == [("2024-05-01", "manual")]


def test_unknown_unit_and_bad_date(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--as-of", "2024-05-01", "--unit", "NOPE"]) == 2
    assert "NOPE" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", "--as-of", "18/05/2024"])


def test_list_and_print_kept_reports(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--list"]) == 0
    assert "no kept report yet" in capsys.readouterr().err
    assert main(["report", "--as-of", "2024-05-01", "--keep", "--period", "kỳ 1"]) == 0
    capsys.readouterr()
    assert main(["report", "--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 1
    kept_id, as_of, period, unit, lang, trigger, _created = listed[0].split("\t")
    assert (as_of, period, unit, lang, trigger) == ("2024-05-01", "kỳ 1", "*", "vi", "manual")
    assert main(["report", "--kept", kept_id]) == 0
    assert "**Phục vụ báo cáo chuyển đổi số kỳ 1**" in capsys.readouterr().out
    assert main(["report", "--kept", "999"]) == 2


def test_items_of_chosen_figures_only(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--as-of", "2024-05-01", "--items", "computers_with_agent"]) == 0
    out = capsys.readouterr().out
    annex = out.split("## Phụ lục 2. Danh sách chi tiết theo từng chỉ tiêu", 1)[1]
    assert annex.count("#### ") == 1
    assert "#### Máy tính có cài phần mềm kiểm kê (số liệu được thu thập tự động) (1/1)" in annex
    assert "| 1 | pc-1 (Dell Inc. OptiPlex 9020) | Xã Tân Bình | SN-1001 |" in annex
    assert main(["report", "--as-of", "2024-05-01", "--items", "nope"]) == 2
    assert "unknown figure 'nope'" in capsys.readouterr().err
