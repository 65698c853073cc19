"""The sentences of sections II.6, II.8 and III.2 written from a hand-built coverage."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

from server.report import build_report
from server.report.document import BulletList, Heading, Paragraph, ReportDocument, Table
from server.report.render_md import render_md
from server.report.writer import UnitTree
from server.services.figure import Coverage, Figure
from server.services.state import Snapshot, UnitState


def _text(document: ReportDocument) -> str:
    return render_md(document)


def _bullets(document: ReportDocument) -> list[str]:
    return [item for block in document.blocks if isinstance(block, BulletList) for item in block.items]


def test_sections_follow_the_district_report(coverage: Coverage, snapshot: Snapshot) -> None:
    doc = build_report(coverage, snapshot, "vi")
    headings = [b.text for b in doc.blocks if isinstance(b, Heading)]
    assert headings == [
        "II. Kết quả đạt được",
        "6. Hạ tầng kỹ thuật",
        "8. Công tác đảm bảo an toàn, an ninh thông tin",
        "III. Nhận xét, đánh giá",
        "2. Mặt hạn chế",
        "Phụ lục 1. Số liệu theo từng cơ quan, đơn vị",
        "a) Hạ tầng kỹ thuật và thiết bị quá thời hạn sử dụng",
        "b) An toàn thông tin",
    ]
    assert doc.title[1] == "Phục vụ báo cáo chuyển đổi số 06 tháng đầu năm 2024"
    assert doc.title[2] == "(Đến 18/05/2024)"


def test_infrastructure_sentences(coverage: Coverage, snapshot: Snapshot) -> None:
    bullets = _bullets(build_report(coverage, snapshot, "vi"))
    assert bullets[0] == (
        "Cán bộ, công chức, viên chức được trang bị máy tính để làm việc: 99,59% (17.236/17.307). Trong đó: "
        "phòng, ban, ngành huyện 100,00% (8/8); xã, thị trấn 91,67% (11/12); trường học chưa có số liệu "
        "(chưa nhập số biên chế)."
    )
    assert ("Đơn vị chưa nhập số biên chế (chưa tính vào tỷ lệ, có 2 máy tính): Trường Tiểu học Hòa An."
            in bullets)
    assert "Cơ quan, đơn vị có mạng không dây (Wi-Fi): 25,00% (1/4). Chưa nhập thông tin của 1 đơn vị." in bullets
    assert ("Cơ quan, đơn vị có mạng nội bộ (LAN): 75,00% (3/4). Đơn vị chưa có: Trường Tiểu học Hòa An."
            in bullets)
    assert "Cơ quan, đơn vị được bố trí máy Scan: 75,00% (3/4). Đơn vị chưa có: Trường Tiểu học Hòa An." in bullets
    assert any(b.startswith("Cơ quan, đơn vị có kết nối internet băng thông rộng, tốc độ cao (cáp quang): 50,00% "
                            "(2/4). Đơn vị chưa có: Xã Tân Bình, Trường Tiểu học Hòa An.") for b in bullets)
    # air-gapped machines are out of the denominator, and said so
    assert ("Máy tính được kết nối internet: 66,67% (2/3), không tính 1 máy tính xử lý văn bản mật không kết "
            "nối internet.") in bullets
    assert any("máy photo 1/2" in b for b in bullets)


def test_one_stop_shop_table(coverage: Coverage, snapshot: Snapshot) -> None:
    doc = build_report(coverage, snapshot, "vi")
    table = next(b for b in doc.blocks if isinstance(b, Table))
    assert table.header[2:] == ("Máy tính", "Máy in", "Máy photo", "Máy Scan", "Camera")
    assert table.rows[1] == ("2", "Xã Tân Bình", "Có", "Có", "Chưa có", "Có", "Có")


def test_security_sentences_and_licence_reason(coverage: Coverage, snapshot: Snapshot) -> None:
    bullets = _bullets(build_report(coverage, snapshot, "vi"))
    assert ("Máy tính có chương trình diệt virus bản quyền: 50,00% (2/4). Lý do chưa có bản quyền: giấy phép "
            "Kaspersky Endpoint Security đã hết hạn; BKAV Pro được cài trên 3 máy nhưng chỉ mua 2 giấy phép."
            ) in bullets
    assert "Máy tính dùng hệ điều hành đã hết hỗ trợ (không còn bản vá bảo mật): 25,00% (1/4)." in bullets


def test_limitations_oldest_and_forecast(coverage: Coverage, snapshot: Snapshot) -> None:
    text = _text(build_report(coverage, snapshot, "vi"))
    assert "Thiết bị đang sử dụng đã quá thời hạn sử dụng: 40,00% (2/5)." in text
    assert "Chưa xác định được năm đưa vào sử dụng của 1 thiết bị." in text
    assert ("| 1 | PH-VP-01 (Dell OptiPlex 3020) | UBND huyện Phụng Hiệp | 10,2 (ước tính) | ngày phát hành BIOS |"
            in text)
    assert "| 2026 | 3 | Xã Tân Bình (2), Phòng Tài chính - Kế hoạch (1) |" in text


def test_annex_rows_are_each_units_own_figures(coverage: Coverage, snapshot: Snapshot) -> None:
    doc = build_report(coverage, snapshot, "vi")
    annex = [b for b in doc.blocks if isinstance(b, Table)][-2]
    rows = {row[1]: row for row in annex.rows}
    # the district office itself: 17.236 - 8 - 11 equipped out of 17.307 - 8 - 12 staff
    assert rows["UBND huyện Phụng Hiệp"][2] == "99,60% (17.217/17.287)"
    assert rows["Xã Tân Bình"][2:8] == ("91,67% (11/12)", "Có", "Có", "Chưa có", "—", "Chưa có")
    assert rows["Trường Tiểu học Hòa An"][2] == "—"
    assert rows["toàn bộ các cơ quan, đơn vị"][2] == "99,59% (17.236/17.307)"


def test_missing_data_is_said_never_100_percent(snapshot: Snapshot) -> None:
    empty = Coverage(as_of=date(2024, 5, 18), unit_code=None, figures={}, per_unit={}, assessments={},
                     forecast={})
    doc = build_report(empty, snapshot, "vi")
    text = _text(doc)
    assert "100,00%" not in text
    assert "Cán bộ, công chức, viên chức được trang bị máy tính để làm việc: chưa có số liệu (chưa nhập số biên chế)." \
        in text
    assert "Cơ quan, đơn vị được bố trí máy Scan: chưa có số liệu (chưa có cơ quan, đơn vị)." in text
    assert "Chưa có máy tính nào cài phần mềm kiểm kê, nên chưa có số liệu giám sát an toàn thông tin." in text
    assert "Thiết bị đang sử dụng đã quá thời hạn sử dụng: chưa có số liệu (chưa có thiết bị)." in text


def test_corrected_inputs_are_mentioned(coverage: Coverage, snapshot: Snapshot) -> None:
    corrected = replace(coverage, corrected_after=datetime(2024, 6, 2, 9, 30, tzinfo=timezone.utc))
    paragraphs = [b.text for b in build_report(corrected, snapshot, "vi").blocks if isinstance(b, Paragraph)]
    assert any(p.startswith("Lưu ý: số liệu đã được điều chỉnh sau ngày 18/05/2024 (lần điều chỉnh gần nhất ngày "
                            "02/06/2024)") for p in paragraphs)
    plain = [b.text for b in build_report(coverage, snapshot, "vi").blocks if isinstance(b, Paragraph)]
    assert not any("điều chỉnh" in p for p in plain)


def test_comparison_with_previous_period(coverage: Coverage, snapshot: Snapshot) -> None:
    figures = dict(coverage.figures)
    figures["units_with_scanner"] = Figure("units_with_scanner", 2, 4)
    figures["antivirus_licensed"] = Figure("antivirus_licensed", 3, 4)
    figures["firewall_enabled"] = Figure("firewall_enabled", 4, 4)
    previous = replace(coverage, as_of=date(2023, 11, 18), figures=figures)
    bullets = _bullets(build_report(coverage, snapshot, "vi", previous=previous))
    assert any("75,00% (3/4), tăng 25,00 điểm phần trăm so với kỳ trước (50,00% (2/4))." in b for b in bullets)
    assert any(b.startswith("Máy tính có chương trình diệt virus bản quyền: 50,00% (2/4), giảm 25,00 điểm phần trăm "
                            "so với kỳ trước (75,00% (3/4)).") for b in bullets)
    assert "Máy tính có bật tường lửa: 100,00% (4/4), không thay đổi so với kỳ trước." in bullets


def test_scope_of_one_unit_lists_only_its_subtree(coverage: Coverage, snapshot: Snapshot) -> None:
    scoped = replace(coverage, unit_code="TB", figures=coverage.per_unit["TB"],
                     per_unit={"TB": coverage.per_unit["TB"]})
    doc = build_report(scoped, snapshot, "vi")
    assert doc.meta.unit_name == "Xã Tân Bình"
    text = _text(doc)
    assert "Phạm vi: Xã Tân Bình." in text
    assert "Trường Tiểu học Hòa An" not in text


def test_items_annex_lists_devices_and_units(coverage: Coverage, snapshot: Snapshot) -> None:
    text = _text(build_report(coverage, snapshot, "vi", items=True))
    assert "## Phụ lục 2. Danh sách chi tiết theo từng chỉ tiêu" in text
    section = text.split("#### Máy tính dùng hệ điều hành đã hết hỗ trợ (không còn bản vá bảo mật) (1/4)", 1)[1]
    assert section.split("####", 1)[0].strip().splitlines()[-1] == "| 1 | Máy một cửa | Xã Tân Bình | — |"
    without = _text(build_report(coverage, snapshot, "vi"))
    assert "Phụ lục 2" not in without


def test_english_report(coverage: Coverage, snapshot: Snapshot) -> None:
    text = _text(build_report(coverage, snapshot, "en", period="H1 2024"))
    assert "**For the digital transformation report, H1 2024**" in text
    assert ("Computers with licensed antivirus: 50.00% (2/4). Why some are not licensed: the Kaspersky Endpoint "
            "Security licence has expired; BKAV Pro is installed on 3 computers but only 2 licences were bought.") \
        in text


def test_long_lists_are_cut_and_point_to_the_annex() -> None:
    from server.services.coverage import coverage_for
    from server.services.policy import Policy
    from server.services.state import UnitState

    units = [UnitState("PH", "UBND huyện", "district")] + [
        UnitState(f"T{i:02}", f"Trường {i:02}", "school", "PH", staff=3, lan=False) for i in range(13)
    ]
    snap = Snapshot(as_of=date(2024, 5, 18), units=tuple(units))
    text = _text(build_report(coverage_for(snap, Policy()), snap, "vi"))
    assert ("Cơ quan, đơn vị có mạng nội bộ (LAN): 0,00% (0/13). Đơn vị chưa có: Trường 00, Trường 01, Trường 02, "
            "Trường 03, Trường 04, Trường 05, Trường 06, Trường 07, Trường 08, Trường 09 và 3 đơn vị khác (xem Phụ "
            "lục 1).") in text


def test_unit_order_survives_a_cycle_of_parents() -> None:
    """A data entry mistake (A under B under A, S under itself) must neither hang the report nor hide units."""
    units = (UnitState("PH", "Huyện", "district"), UnitState("A", "A", "commune", "B"),
             UnitState("B", "B", "commune", "A"), UnitState("S", "S", "school", "S"))
    snap = Snapshot(as_of=date(2024, 5, 18), units=units)
    assert UnitTree.of(snap, None).order == ("PH", "A", "B", "S")  # the cycle is broken as coverage breaks it
    assert UnitTree.of(snap, "A").order == ("A", "B")
    assert UnitTree.of(snap, "S").order == ("S",)
