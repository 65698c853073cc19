"""Golden test: a hand-built district through the real coverage, every figure counted by hand beforehand.

Cut-off 18/05/2024 (the district report's date), default policy: 5-year service life, signatures older than
7 days stale, agents silent for 30 days stale, antivirus built into Windows licensed, forecast 2024-2027.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest

from server.report import build_report, render
from server.services.coverage import coverage_for
from server.services.policy import Policy
from server.services.state import AntivirusState, DeviceState, LicenceState, Snapshot, UnitState

AS_OF = date(2024, 5, 18)
SEEN = datetime(2024, 5, 18, 3, 0, tzinfo=timezone.utc)
FIRST = datetime(2024, 1, 2, 1, 0, tzinfo=timezone.utc)
WIN10 = {"os_name": "Microsoft Windows 10 Pro", "os_version": "10.0.19045", "os_build": "19045"}
WIN11 = {"os_name": "Microsoft Windows 11 Pro", "os_version": "10.0.22631", "os_build": "22631"}
WIN7 = {"os_name": "Microsoft Windows 7 Professional", "os_version": "6.1.7601", "os_build": "7601"}


def av(name: str, signatures: datetime | None = None, up_to_date: bool | None = True) -> AntivirusState:
    return AntivirusState(name=name, enabled=True, up_to_date=up_to_date, signatures_updated_at=signatures,
                          source="security_center")


KASPERSKY = "Kaspersky Endpoint Security 11 for Windows"
FRESH = datetime(2024, 5, 16, 2, 0, tzinfo=timezone.utc)

UNITS = (
    # an administrative grouping with no headcount and no equipment: not a place in the unit figures
    UnitState("PH", "UBND huyện Phụng Hiệp", "district"),
    UnitState("VP", "Văn phòng HĐND và UBND huyện", "department", "PH", staff=10, lan=True, wifi=True, wan=True,
              internet="fibre", one_stop_shop=True),
    UnitState("TCKH", "Phòng Tài chính - Kế hoạch", "department", "PH", staff=4, lan=True, wifi=False, wan=False,
              internet="fibre"),
    UnitState("XTB", "Xã Tân Bình", "commune", "PH", staff=5, lan=True, wifi=None, wan=False, internet="other",
              one_stop_shop=True),
    UnitState("THHA", "Trường Tiểu học Hòa An", "school", "PH", staff=None, lan=False, wifi=False, wan=False,
              internet="fibre"),
)


def agent_pc(id: int, unit: str, host: str, **kw: object) -> DeviceState:
    facts: dict[str, object] = {"has_agent": True, "first_seen": FIRST, "last_seen": SEEN, "reports_received": 3,
                                "firewall_enabled": True, "internet_reachable": True, **WIN10}
    facts.update(kw)
    return DeviceState(id=id, unit_code=unit, kind=facts.pop("kind", "desktop"), hostname=host,  # type: ignore[arg-type]
                       **facts)  # type: ignore[arg-type]


def thing(id: int, unit: str, kind: str, purchased: date | None, **kw: object) -> DeviceState:
    return DeviceState(id=id, unit_code=unit, kind=kind, purchased_on=purchased, **kw)  # type: ignore[arg-type]


DEVICES = (
    # VP: three computers for ten officials; a full one-stop shop
    agent_pc(1, "VP", "VP-01", purchased_on=date(2017, 3, 1), antivirus=(av(KASPERSKY, FRESH),)),
    # bought before records were kept; BIOS updated in 2021 but first seen dated 2014 (CPU launched 2014)
    agent_pc(2, "VP", "VP-02", cpu_model="Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz",
             earliest_bios_date=date(2014, 6, 1), bios_date=date(2021, 9, 1),
             antivirus=(av("Windows Defender"),)),
    # the classified-documents laptop: flagged, offline, its reports carried in by hand
    agent_pc(3, "VP", "VP-MAT", kind="laptop", air_gapped=True, delivered_offline=True, internet_reachable=False,
             purchased_on=date(2022, 1, 10), last_seen=datetime(2024, 5, 10, 2, 0, tzinfo=timezone.utc),
             antivirus=(av(KASPERSKY, FRESH),)),
    thing(4, "VP", "scanner", date(2019, 5, 1), name="Canon DR-C225"),  # five years reached on 01/05/2024
    thing(5, "VP", "printer", date(2020, 8, 1)),
    thing(6, "VP", "photocopier", None, name="Ricoh MP 2014"),  # no purchase record: age unknown
    thing(7, "VP", "camera", date(2023, 1, 1)),
    # TCKH: Windows 7 with stale signatures and the firewall off; one PC silent since March; one without agent
    agent_pc(8, "TCKH", "TC-01", purchased_on=date(2021, 2, 1), firewall_enabled=False, **WIN7,
             antivirus=(av(KASPERSKY, datetime(2024, 4, 1, tzinfo=timezone.utc)),)),
    agent_pc(9, "TCKH", "TC-02", cpu_model="Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz", bios_date=date(2020, 9, 1),
             earliest_bios_date=date(2020, 9, 1), last_seen=datetime(2024, 3, 1, tzinfo=timezone.utc),
             antivirus=(av("BKAV Pro", datetime(2024, 2, 29, tzinfo=timezone.utc), up_to_date=None),)),
    thing(10, "TCKH", "desktop", date(2016, 1, 1), name="Máy kế toán cũ"),
    thing(11, "TCKH", "scanner", date(2022, 3, 1)),
    # XTB: a commune one-stop shop without a photocopier; a classified PC that is online (a violation)
    agent_pc(12, "XTB", "XTB-01", purchased_on=date(2018, 6, 1), antivirus=(av("BKAV Pro", FRESH),)),
    agent_pc(13, "XTB", "XTB-MAT", air_gapped=True, purchased_on=date(2020, 1, 1), firewall_enabled=None,
             antivirus=(av("BKAV Pro", None, up_to_date=None),)),
    agent_pc(14, "XTB", "XTB-03", os_install_date=date(2023, 2, 1), internet_reachable=None, **WIN11),
    thing(15, "XTB", "printer", date(2023, 1, 1)),
    thing(16, "XTB", "camera", date(2023, 1, 1)),
    thing(17, "XTB", "scanner", date(2023, 1, 1)),
    # THHA: no headcount entered; one old PC without agent; a retired one that counts nowhere
    thing(18, "THHA", "desktop", date(2015, 9, 1), name="Máy phòng hiệu trưởng"),
    thing(19, "THHA", "desktop", date(2010, 1, 1), status="retired"),
)
LICENCES = (
    LicenceState(1, "Kaspersky Endpoint Security", seats=1, valid_from=date(2023, 6, 1), valid_to=date(2024, 5, 31)),
    LicenceState(2, "BKAV Pro", seats=10, valid_from=date(2022, 1, 1), valid_to=date(2023, 12, 31)),
)
SNAPSHOT = Snapshot(as_of=AS_OF, units=UNITS, devices=DEVICES, licences=LICENCES)

# (numerator, denominator) of every whole-tree figure, counted by hand from the lists above.
EXPECTED = {
    # equipped: VP min(3, 10) + TCKH min(3, 4) + XTB min(3, 5) out of 10 + 4 + 5 staff; THHA has no headcount
    "computers_per_staff": (9, 19),
    "computers_per_staff:department": (6, 14),
    "computers_per_staff:commune": (3, 5),
    "computers_per_staff:school": (0, 0),
    # places: VP, TCKH, XTB, THHA (PH is a grouping with nothing of its own)
    "units_with_scanner": (3, 4),
    # by kind: departments VP and TCKH, the commune XTB, the school THHA
    "units_with_scanner:department": (2, 2),
    "units_with_scanner:commune": (1, 1),
    "units_with_scanner:school": (0, 1),
    "one_stop_shops_equipped": (1, 2),
    "one_stop_shops_equipped:department": (1, 1),  # VP's shop is fully equipped
    "one_stop_shops_equipped:commune": (0, 1),  # XTB's has no photocopier
    "units_with_lan": (3, 4),
    "units_with_lan:department": (2, 2),
    "units_with_lan:commune": (1, 1),
    "units_with_lan:school": (0, 1),
    "units_with_wifi": (1, 4),
    "units_with_wifi:department": (1, 2),
    "units_with_wifi:commune": (0, 1),  # not entered: not a yes
    "units_with_wifi:school": (0, 1),
    "units_with_wan": (1, 4),
    "units_with_wan:department": (1, 2),
    "units_with_wan:commune": (0, 1),
    "units_with_wan:school": (0, 1),
    "units_with_fibre": (3, 4),
    "units_with_fibre:department": (2, 2),
    "units_with_fibre:commune": (0, 1),  # XTB's link is not fibre
    "units_with_fibre:school": (1, 1),
    # over computers with an agent that are not air-gapped: 1, 2, 8, 9, 12, 14; 14 unknown
    "computers_internet_connected": (5, 6),
    "computers_air_gapped": (2, 10),
    "computers_with_agent": (8, 10),
    "antivirus_installed": (7, 8),
    "antivirus_enabled": (7, 8),
    # current: 1, 2, 3, 9 is stale (29/02), 12; 8 stale; 13 unknown; 14 has none
    "antivirus_up_to_date": (4, 8),
    # 1 holds the one Kaspersky seat (oldest by id), 2 runs Defender; 3 and 8 over the seats; BKAV expired
    "antivirus_licensed": (2, 8),
    "antivirus_licence_expiring": (1, 2),  # the one Kaspersky seat ends 31/05/2024, within 30 days
    "firewall_enabled": (6, 8),
    "os_unsupported": (1, 8),
    "air_gap_violations": (1, 2),
    "agents_stale": (1, 8),
    # in use: 18 devices; past: 1, 2, 4, 10, 12, 18; 6 has no age
    "past_service_life": (6, 18),
    # no computer's antivirus history was read (the snapshot predates schema version 2): no data
    "computers_with_detections": (0, 0),
    "detections_unremediated": (0, 0),
}


@pytest.fixture(scope="module")
def markdown() -> str:
    return render(build_report(coverage_for(SNAPSHOT, Policy()), SNAPSHOT, "vi", items=True), "md").decode()


def test_every_figure_as_counted_by_hand() -> None:
    cov = coverage_for(SNAPSHOT, Policy())
    assert {k: (f.numerator, f.denominator) for k, f in cov.figures.items()} == EXPECTED
    assert cov.figures["computers_internet_connected"].detail["air_gapped"] == 2
    assert cov.figures["computers_internet_connected"].detail["no_agent"] == 2
    assert cov.figures["past_service_life"].detail["age_unknown"] == 1
    assert cov.oldest == (2, 18, 10, 1, 12, 4)
    assert cov.forecast == {2024: {}, 2025: {"VP": 1, "TCKH": 1, "XTB": 1}, 2026: {"TCKH": 1},
                            2027: {"VP": 1, "TCKH": 1}}


def test_json_carries_every_figure(markdown: str) -> None:
    cov = coverage_for(SNAPSHOT, Policy())
    data = json.loads(render(build_report(cov, SNAPSHOT, "vi"), "json"))
    for key, (num, den) in EXPECTED.items():
        figure = data["figures"][key]
        assert (figure["numerator"], figure["denominator"]) == (num, den), key
        assert figure["percent"] == (None if den == 0 else float(  # half up, as a calculator shows it
            (Decimal(num) * 100 / den).quantize(Decimal("0.01"), ROUND_HALF_UP)))
        assert len(figure["items"]) == num
    assert data["figures"]["computers_air_gapped"]["items"] == [3, 13]
    assert data["figures"]["os_unsupported"]["items"] == [8]


def test_infrastructure_section(markdown: str) -> None:
    expected = [
        "- Cán bộ, công chức, viên chức được trang bị máy tính để làm việc: 47,37% (9/19). Trong đó: phòng, ban, "
        "ngành huyện 42,86% (6/14); xã, thị trấn 60,00% (3/5); trường học chưa có số liệu (chưa nhập số biên chế).",
        "- Đơn vị chưa nhập số biên chế (chưa tính vào tỷ lệ, có 1 máy tính): Trường Tiểu học Hòa An.",
        "- Cơ quan, đơn vị được bố trí máy Scan: 75,00% (3/4). Trong đó: 100,00% (2/2) phòng, ban, ngành huyện; "
        "100,00% (1/1) xã, thị trấn; 0,00% (0/1) trường học. Đơn vị chưa có: Trường Tiểu học Hòa An.",
        "- Bộ phận tiếp nhận và trả kết quả (một cửa) được trang bị đủ máy tính, máy in, máy photo, máy Scan, "
        "Camera: 50,00% (1/2). Trong đó: 100,00% (1/1) phòng, ban, ngành huyện; 0,00% (0/1) xã, thị trấn. Số bộ "
        "phận một cửa có: máy tính 2/2, máy in 2/2, máy photo 1/2, máy Scan 2/2, Camera 2/2.",
        # the seed's "100% xã, thị trấn có mạng nội bộ (LAN)"
        "- Cơ quan, đơn vị có mạng nội bộ (LAN): 75,00% (3/4). Trong đó: 100,00% (2/2) phòng, ban, ngành huyện; "
        "100,00% (1/1) xã, thị trấn; 0,00% (0/1) trường học. Đơn vị chưa có: Trường Tiểu học Hòa An.",
        "- Cơ quan, đơn vị có mạng không dây (Wi-Fi): 25,00% (1/4). Trong đó: 50,00% (1/2) phòng, ban, ngành "
        "huyện; 0,00% (0/1) xã, thị trấn; 0,00% (0/1) trường học. Chưa nhập thông tin của 1 đơn vị.",
        "- Cơ quan, đơn vị có mạng diện rộng (WAN): 25,00% (1/4). Trong đó: 50,00% (1/2) phòng, ban, ngành huyện; "
        "0,00% (0/1) xã, thị trấn; 0,00% (0/1) trường học.",
        "- Cơ quan, đơn vị có kết nối internet băng thông rộng, tốc độ cao (cáp quang): 75,00% (3/4). Trong đó: "
        "100,00% (2/2) phòng, ban, ngành huyện; 0,00% (0/1) xã, thị trấn; 100,00% (1/1) trường học. Đơn vị chưa "
        "có: Xã Tân Bình.",
        "- Máy tính được kết nối internet: 83,33% (5/6), không tính 2 máy tính xử lý văn bản mật không kết nối "
        "internet, chưa tính 2 máy tính chưa cài phần mềm kiểm kê. Chưa xác định được 1 máy.",
        "- Máy tính xử lý văn bản mật, không kết nối internet theo quy định: 2 máy, chiếm 20,00% (2/10) tổng số "
        "máy tính.",
        "- Máy tính có cài phần mềm kiểm kê (số liệu được thu thập tự động): 80,00% (8/10).",
    ]
    section = markdown.split("### 6. Hạ tầng kỹ thuật", 1)[1].split("###", 1)[0]
    assert [line for line in section.splitlines() if line.startswith("- ")] == expected
    assert "| 1 | Văn phòng HĐND và UBND huyện | Có | Có | Có | Có | Có |" in section
    assert "| 2 | Xã Tân Bình | Có | Có | Chưa có | Có | Có |" in section


def test_security_section(markdown: str) -> None:
    expected = [
        "- Máy tính được cài đặt chương trình diệt virus: 87,50% (7/8).",
        "- Máy tính có chương trình diệt virus đang bật: 87,50% (7/8).",
        "- Máy tính có chương trình diệt virus được cập nhật mẫu nhận diện mới: 50,00% (4/8). Chưa xác định được "
        "1 máy.",
        "- Máy tính có chương trình diệt virus bản quyền: 25,00% (2/8). Lý do chưa có bản quyền: giấy phép BKAV Pro "
        "đã hết hạn; Kaspersky Endpoint Security được cài trên 3 máy nhưng chỉ mua 1 giấy phép. Căn cứ xác định "
        "bản quyền: 6 máy chỉ căn cứ sổ theo dõi giấy phép (phần mềm không tự báo giấy phép); 1 máy dùng phần mềm "
        "diệt virus có sẵn của hệ điều hành. 1 máy có giấy phép diệt virus hết hạn trong 30 ngày tới, cần gia hạn.",
        "- Máy tính có bật tường lửa: 75,00% (6/8). Chưa xác định được 1 máy.",
        "- Máy tính dùng hệ điều hành đã hết hỗ trợ (không còn bản vá bảo mật): 12,50% (1/8).",
        "- Máy tính xử lý văn bản mật nhưng vẫn kết nối internet (vi phạm quy định): 50,00% (1/2).",
        "- Máy tính không gửi số liệu trong thời gian gần đây (cần kiểm tra): 12,50% (1/8).",
        "- Tình trạng lây nhiễm phần mềm độc hại: chưa có số liệu (chưa đọc được lịch sử phát hiện của phần mềm "
        "diệt virus trên máy tính nào).",
    ]
    section = markdown.split("### 8. Công tác đảm bảo an toàn, an ninh thông tin", 1)[1].split("##", 1)[0]
    assert "Kết quả giám sát tự động trên 8 máy tính có cài phần mềm kiểm kê, chiếm 80,00% (8/10) tổng số máy tính:" \
        in section
    assert [line for line in section.splitlines() if line.startswith("- ")] == expected


def test_limitations_section(markdown: str) -> None:
    section = markdown.split("### 2. Mặt hạn chế", 1)[1].split("## Phụ lục 1", 1)[0]
    assert "- Thiết bị đang sử dụng đã quá thời hạn sử dụng: 33,33% (6/18)." in section
    assert "- Chưa xác định được năm đưa vào sử dụng của 1 thiết bị." in section
    # per unit, most first: VP 1, 2, 4 of its 7 devices; TCKH 10 of 4; XTB 12 of 6; THHA 18 of 1
    assert ("| 1 | Văn phòng HĐND và UBND huyện | 3 | 42,86% (3/7) |\n"
            "| 2 | Phòng Tài chính - Kế hoạch | 1 | 25,00% (1/4) |\n"
            "| 3 | Xã Tân Bình | 1 | 16,67% (1/6) |\n"
            "| 4 | Trường Tiểu học Hòa An | 1 | 100,00% (1/1) |") in section
    # the BIOS-updated PC is dated by its first BIOS (01/06/2014): 3.639 days, 9,96 years at 18/05/2024,
    # shown truncated; dated by its current BIOS (2021) it would look three years old
    assert "| 1 | VP-02 | Văn phòng HĐND và UBND huyện | 9,9 (ước tính) | ngày phát hành BIOS |" in section
    assert "| 2 | Máy phòng hiệu trưởng | Trường Tiểu học Hòa An | 8,7 | hồ sơ mua sắm |" in section
    # 2025: printer 5 (08/2020), TC-02 9 (BIOS 09/2020), XTB-MAT 13 (01/2020); 2026: TC-01 8; 2027: laptop 3,
    # scanner 11; devices bought in 2023 fall due in 2028, past the three-year horizon
    assert ("| 2025 | 3 | Phòng Tài chính - Kế hoạch (1), Văn phòng HĐND và UBND huyện (1), Xã Tân Bình (1) |"
            in section)
    assert "| 2026 | 1 | Phòng Tài chính - Kế hoạch (1) |" in section
    assert "| 2027 | 2 | Phòng Tài chính - Kế hoạch (1), Văn phòng HĐND và UBND huyện (1) |" in section
    devices, licences = section.split("Dự báo số giấy phép diệt virus cần gia hạn theo năm ngân sách:", 1)
    assert "| 2024 |" not in devices  # nothing falls due in the rest of 2024: the year is left out
    assert "| 2024 | 1 | Kaspersky Endpoint Security (1) |" in licences  # its one-seat licence ends in 2024


def _rows(table: str) -> dict[str, str]:
    return {line.split(" | ")[1]: line for line in table.splitlines() if line.startswith("| ") and " | " in line}


def test_annex_infrastructure_per_unit(markdown: str) -> None:
    annex = markdown.split("## Phụ lục 1", 1)[1].split("#### b)", 1)[0]
    rows = _rows(annex)
    assert rows["UBND huyện Phụng Hiệp"] == "| 1 | UBND huyện Phụng Hiệp | — | — | — | — | — | — | — | — |"
    # units in reading order: departments by name, then communes, then schools
    assert rows["Văn phòng HĐND và UBND huyện"] == (
        "| 3 | Văn phòng HĐND và UBND huyện | 30,00% (3/10) | Có | Có | Có | Có | Có | 100,00% (2/2) | 42,86% (3/7) |")
    # Wi-Fi not entered for the commune: no data, not "no"
    assert rows["Xã Tân Bình"] == (
        "| 4 | Xã Tân Bình | 60,00% (3/5) | Có | Có | — | Chưa có | Chưa có | 50,00% (1/2) | 16,67% (1/6) |")
    assert rows["Trường Tiểu học Hòa An"] == (
        "| 5 | Trường Tiểu học Hòa An | — | Chưa có | Chưa có | Chưa có | Chưa có | Có | — | 100,00% (1/1) |")


def test_annex_security_per_unit(markdown: str) -> None:
    rows = _rows(markdown.split("#### b)", 1)[1].split("## Phụ lục 2", 1)[0])
    # agent, AV installed, on, current, licensed, firewall, unsupported OS, silent
    assert rows["Phòng Tài chính - Kế hoạch"] == (
        "| 2 | Phòng Tài chính - Kế hoạch | 66,67% (2/3) | 100,00% (2/2) | 100,00% (2/2) | 0,00% (0/2) | 0,00% (0/2) "
        "| 50,00% (1/2) | 50,00% (1/2) | 50,00% (1/2) |")
    assert rows["Văn phòng HĐND và UBND huyện"] == (
        "| 3 | Văn phòng HĐND và UBND huyện | 100,00% (3/3) | 100,00% (3/3) | 100,00% (3/3) | 100,00% (3/3) "
        "| 66,67% (2/3) | 100,00% (3/3) | 0,00% (0/3) | 0,00% (0/3) |")
    assert rows["Xã Tân Bình"] == (
        "| 4 | Xã Tân Bình | 100,00% (3/3) | 66,67% (2/3) | 66,67% (2/3) | 33,33% (1/3) | 0,00% (0/3) "
        "| 66,67% (2/3) | 0,00% (0/3) | 0,00% (0/3) |")
    assert rows["Trường Tiểu học Hòa An"] == (
        "| 5 | Trường Tiểu học Hòa An | 0,00% (0/1) | — | — | — | — | — | — | — |")
    assert rows["toàn bộ các cơ quan, đơn vị"] == (
        "|  | toàn bộ các cơ quan, đơn vị | 80,00% (8/10) | 87,50% (7/8) | 87,50% (7/8) | 50,00% (4/8) "
        "| 25,00% (2/8) | 75,00% (6/8) | 12,50% (1/8) | 12,50% (1/8) |")


def test_items_behind_a_figure(markdown: str) -> None:
    listing = markdown.split("#### Máy tính xử lý văn bản mật nhưng vẫn kết nối internet (vi phạm quy định) (1/2)",
                             1)[1].split("####", 1)[0]
    assert "| 1 | XTB-MAT | Xã Tân Bình | — |" in listing


def test_breakdowns_by_kind_in_english() -> None:
    text = render(build_report(coverage_for(SNAPSHOT, Policy()), SNAPSHOT, "en"), "md").decode()
    assert ("- Agencies and units with a local network (LAN): 75.00% (3/4). Of which: district departments "
            "100.00% (2/2); communes and towns 100.00% (1/1); schools 0.00% (0/1).") in text


def test_a_breakdown_that_would_repeat_the_figure_is_left_out() -> None:
    cov = coverage_for(SNAPSHOT, Policy(), "XTB")
    text = render(build_report(cov, SNAPSHOT, "vi"), "md").decode()
    assert "- Cơ quan, đơn vị có mạng nội bộ (LAN): 100,00% (1/1).\n" in text
