"""The inventory list's filters, sorting and the XLSX export: what the officer narrows the device list by.

Filters combine (every one given must hold); they read the same snapshot and assessments as the figures, so
a filtered list and its export agree with the overview. Unknown values are dropped rather than refused: a
stale bookmark still opens the list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, tzinfo

from server.console.data import neutralise
from server.console.xlsx_writer import Cell, workbook
from server.report.numbers import Lang
from server.services.figure import Coverage
from server.services.state import DeviceState
from server.vocab import COMPUTER_KINDS

#: Columns of the XLSX export, the leader's: label keys of the console's texts.
XLSX_COLUMNS = ("col_unit", "col_kind", "col_name", "f_vendor", "f_model", "f_serial", "f_status", "sec_os",
                "sec_antivirus", "f_cpu", "col_age_years", "col_age_how", "col_past_life", "col_last_seen",
                "col_reports", "col_issues", "f_notes")


def devices_xlsx(devices: Iterable[DeviceState], coverage: Coverage, unit_names: Mapping[str, str],
                 texts: Callable[..., str], lang: Lang, tz: tzinfo) -> bytes:
    """The devices as a workbook with the leader's columns, headers in the console's language.

    Text that a spreadsheet would run as a formula is neutralised exactly as in the CSV (and every text cell
    is stored as text, never as a formula).
    """
    def rows() -> Iterator[list[Cell]]:
        for d in devices:
            a = coverage.assessments[d.id]
            how = texts(f"age:{a.age_source}") if a.age_years is not None else ""
            seen = d.last_seen.astimezone(tz).replace(tzinfo=None) if d.last_seen else None
            values: list[Cell] = [
                unit_names.get(d.unit_code, d.unit_code), texts(f"kind:{d.kind}"), d.hostname or d.name, d.vendor,
                d.model, d.serial, texts(f"status:{d.status}"),
                " ".join(p for p in (d.os_name, d.os_version) if p) or None,
                ", ".join(p.name for p in d.antivirus) or None, d.cpu_model,
                a.age_years, how + (f" ({texts('estimated')})" if a.age_estimated and how else ""),
                texts("past_life_yes") if a.past_service_life else "", seen,
                d.reports_received if d.kind in COMPUTER_KINDS else None,
                "; ".join(texts(f"issue:{i}") for i in a.issues), d.notes,
            ]
            yield [neutralise(v) if isinstance(v, str) else v for v in values]

    return workbook(texts("nav_devices"), [texts(c) for c in XLSX_COLUMNS], rows(),
                    datetime_format="dd/mm/yyyy hh:mm" if lang == "vi" else "yyyy-mm-dd hh:mm")


def export_name(extension: str, as_of: date, unit: str | None) -> str:
    """The file name of an export (ASCII, for every mail client): what, as of when, which scope."""
    return f"thiet-bi-{as_of.isoformat()}-{unit or 'toan-huyen'}.{extension}"
