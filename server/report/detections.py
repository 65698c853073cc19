"""The II.8 sentence on malware: detections found and dealt with in the period, and those still open.

Renders only: the numbers are coverage's ``computers_with_detections`` and ``detections_unremediated``. A scope
where no computer's antivirus history could be read has no data, never "nothing found".
"""

from __future__ import annotations

from server.report.numbers import format_count, format_share
from server.report.writer import FigureWriter
from server.services.detections import SEVERITIES


def detections_line(w: FigureWriter) -> str:
    """``Trong kỳ, phát hiện và xử lý N trường hợp phần mềm độc hại trên M máy tính; còn K …`` or its no-data
    wording, with the breakdown by severity and the computers whose history is unknown."""
    computers = w.cov.figures.get("computers_with_detections")
    unremediated = w.cov.figures.get("detections_unremediated")
    if computers is None or unremediated is None:
        return w.t("detections_no_data")
    unreadable = computers.detail.get("unreadable", 0)
    tail = " " + w.t("detections_unreadable", n=unreadable, count=format_count(unreadable, w.lang)) if unreadable \
        else ""
    if not computers.denominator:
        return w.t("detections_no_data")
    readable = format_count(computers.denominator, w.lang)
    found = unremediated.denominator
    if not found:
        return w.t("detections_none", n=computers.denominator, readable=readable) + tail
    on = w.t("detections_computers", n=computers.numerator, count=format_count(computers.numerator, w.lang))
    text = w.t("detections_found", n=found, found=format_count(found, w.lang), computers=on,
               share=format_share(computers, w.lang) or "")
    open_ = unremediated.numerator
    text += " " + (w.t("detections_open", count=format_count(open_, w.lang)) if open_ else w.t("detections_all_done"))
    parts = [w.t("detections_severity_part", label=w.t(f"severity:{level}"),
                 count=format_count(computers.detail[f"severity:{level}"], w.lang))
             for level in SEVERITIES if computers.detail.get(f"severity:{level}")]
    if parts:
        text += " " + w.t("detections_by_severity", parts=", ".join(parts))
    return text + tail
