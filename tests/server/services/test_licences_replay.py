"""End to end: replayed captures of each product, ingested on SQLite and PostgreSQL, judged against a register."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import time_machine
from sqlalchemy.engine import Engine

from agent.collect import collect_report
from server.db import reading
from server.report.render_md import render_md
from server.report.section import build_report
from server.services.figure import Coverage
from server.services.figures import figures_as_of
from server.services.ingest import Delivery, receive
from server.services.policy import Policy
from server.services.spreadsheets import import_licences
from server.services.state import Snapshot
from tests.agent.helpers import REPLAY
from tests.server.factories import make_unit

# The captures were read on 2026-03-12 at 09:15 in Hanoi; the report is made that day.
READ = datetime(2026, 3, 12, 2, 15, tzinfo=timezone.utc)
AS_OF = date(2026, 3, 12)
FOLDERS = (
    "windows10-kaspersky-licensed", "windows10-kaspersky-trial-x86", "windows10-kaspersky-expired",
    "windows10-kaspersky-nokey", "windows10-eset", "windows11-bitdefender-licence", "windows10-avira",
    "windows10-f-secure",
)
# The officer bought ten Kaspersky seats for the whole district, valid all year: enough for every Kaspersky PC.
REGISTER = "product,seats,valid_from,valid_to,unit\nKaspersky Endpoint Security,10,2026-01-01,2026-12-31,\n"


@pytest.fixture
def judged(engine: Engine, tmp_path: Path) -> tuple[Snapshot, Coverage, dict[str, int]]:
    unit_id = make_unit(engine, "UBND", at=READ)
    sheet = tmp_path / "licences.csv"
    sheet.write_text(REGISTER, encoding="utf-8")
    with time_machine.travel(READ, tick=False):
        assert import_licences(engine, sheet, "officer").errors == []
        for i, folder in enumerate(FOLDERS):
            report = collect_report(replay=REPLAY / folder)
            # The captures share one base machine: give each its own identity so that each is its own PC.
            report = report.model_copy(update={"machine_id": f"machine-{i}", "hostname": folder,
                                               "hardware": report.hardware.model_copy(update={"serial": f"SN-{i}"})})
            delivery = Delivery(via="http", unit_id=unit_id)
            assert receive(engine, report, lambda _conn, d=delivery: d, now=READ).status == "accepted"
    with reading(engine) as session:
        figures = figures_as_of(session, AS_OF, policy=Policy())
    snapshot, coverage = figures.snapshot, figures.coverage
    ids = {d.hostname or "": d.id for d in snapshot.devices}
    return snapshot, coverage, ids


def test_licence_facts_arrive_at_the_server(judged: tuple[Snapshot, Coverage, dict[str, int]]) -> None:
    snapshot, _, _ = judged
    own = {d.hostname: [(p.licence_type, p.licence_expires) for p in d.antivirus if "Defender" not in p.name]
           for d in snapshot.devices}
    assert own == {
        "windows10-kaspersky-licensed": [("commercial", date(2026, 9, 15))],
        "windows10-kaspersky-trial-x86": [("trial", date(2026, 4, 5))],
        "windows10-kaspersky-expired": [("commercial", date(2026, 2, 28))],
        "windows10-kaspersky-nokey": [(None, None)],
        "windows10-eset": [(None, date(2026, 4, 2))],
        "windows11-bitdefender-licence": [(None, date(2027, 3, 12))],
        "windows10-avira": [(None, date(2026, 6, 30))],
        "windows10-f-secure": [(None, date(2026, 11, 29))],
    }


def test_trial_and_expired_keys_are_not_licensed_whatever_the_register_says(
    judged: tuple[Snapshot, Coverage, dict[str, int]],
) -> None:
    _, coverage, ids = judged
    licensed = coverage.figures["antivirus_licensed"]
    unlicensed = {name for name, i in ids.items() if i not in licensed.items}
    assert unlicensed == {"windows10-kaspersky-trial-x86", "windows10-kaspersky-expired"}
    kes = "Kaspersky Endpoint Security for Windows"
    assert licensed.note == f"licence_trial:{kes}; product_licence_expired:{kes}"
    # Seven verdicts rest on the products' own licences; the keyless Kaspersky on the register alone.
    assert licensed.detail == {"product": 7, "register": 1, "licence_trial": 1, "product_licence_expired": 1}


def test_licences_ending_within_thirty_days_are_listed(judged: tuple[Snapshot, Coverage, dict[str, int]]) -> None:
    _, coverage, ids = judged
    expiring = coverage.figures["antivirus_licence_expiring"]
    assert (expiring.numerator, expiring.denominator) == (1, 6)
    assert expiring.items == (ids["windows10-eset"],)  # ESET's own licence ends on 2026-04-02


def test_renewals_forecast_seats_per_unit_and_budget_year(judged: tuple[Snapshot, Coverage, dict[str, int]]) -> None:
    _, coverage, _ = judged
    assert coverage.forecast_licences == {
        2026: {
            "*": {"Kaspersky Endpoint Security": 10},
            "UBND": {"ESET Endpoint Antivirus": 1, "Avira Antivirus": 1, "F-Secure SAFE": 1,
                     "Kaspersky Endpoint Security for Windows": 1},  # the expired key: due now
        },
        2027: {"UBND": {"Bitdefender Antivirus": 1}},
        2028: {},
        2029: {},
    }


@pytest.mark.parametrize(("lang", "sentences"), [
    ("vi", ["Căn cứ xác định bản quyền: 7 máy theo giấy phép do chính phần mềm diệt virus báo; 1 máy chỉ căn cứ "
            "sổ theo dõi giấy phép (phần mềm không tự báo giấy phép).",
            "phần mềm Kaspersky Endpoint Security for Windows đang dùng bản dùng thử",
            "1 máy có giấy phép diệt virus hết hạn trong 30 ngày tới",
            "Dự báo số giấy phép diệt virus cần gia hạn theo năm ngân sách:"]),
    ("en", ["What the licence status rests on: 7 computers on the licence the antivirus itself reports; 1 computer "
            "on the licence register alone (the product does not report its licence).",
            "Kaspersky Endpoint Security for Windows itself reports that its licence has expired",
            "Antivirus licence seats due for renewal per budget year:"]),
])
def test_the_report_states_the_evidence_behind_the_figure(
    judged: tuple[Snapshot, Coverage, dict[str, int]], lang: str, sentences: list[str]
) -> None:
    snapshot, coverage, _ = judged
    text = render_md(build_report(coverage, snapshot, lang))  # type: ignore[arg-type]
    for sentence in sentences:
        assert sentence in text
