"""The report as JSON for other systems: every figure as ``{numerator, denominator, percent, items}``."""

from __future__ import annotations

import json
from typing import Any

from server.report.document import BulletList, Heading, Paragraph, ReportDocument, Table
from server.report.labels import Labels
from server.services.figure import Coverage, Figure

FORMAT_VERSION = 1


def _figures(figures: dict[str, Figure], labels: Labels) -> dict[str, dict[str, object]]:
    out = {}
    for key, figure in figures.items():
        entry = figure.as_json()
        entry["label"] = labels.get(f"fig:{key}") or key
        out[key] = entry
    return out


def _device_ids(cov: Coverage) -> set[int]:
    found = {item for fig in cov.figures.values() for item in fig.items if isinstance(item, int)}
    return found | set(cov.oldest)


def _block(block: Heading | Paragraph | BulletList | Table) -> dict[str, object]:
    if isinstance(block, Heading):
        return {"type": "heading", "level": block.level, "text": block.text}
    if isinstance(block, Paragraph):
        return {"type": "paragraph", "text": block.text}
    if isinstance(block, BulletList):
        return {"type": "list", "items": list(block.items)}
    return {"type": "table", "caption": block.caption, "header": list(block.header),
            "rows": [list(r) for r in block.rows]}


def report_json(document: ReportDocument) -> dict[str, Any]:
    """The JSON-ready dictionary: metadata, figures, per-unit figures, forecast, oldest devices, text."""
    meta, cov = document.meta, document.coverage
    labels = Labels(meta.lang)
    oldest = []
    for device_id in cov.oldest:
        a = cov.assessments.get(device_id)
        oldest.append({
            "device_id": device_id,
            "label": document.device_labels.get(device_id),
            "age_years": a.age_years if a else None,
            "age_source": a.age_source if a else None,
            "age_estimated": a.age_estimated if a else None,
            "in_service_date": a.in_service_date.isoformat() if a and a.in_service_date else None,
        })
    out: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "as_of": meta.as_of.isoformat(),
        "period": meta.period,
        "unit": meta.unit_code,
        "unit_name": meta.unit_name,
        "lang": meta.lang,
        "generated_at": meta.generated_at.isoformat(),
        "corrected_after": meta.corrected_after.isoformat() if meta.corrected_after else None,
        "figures": _figures(cov.figures, labels),
        "per_unit": {code: _figures(figs, labels) for code, figs in cov.per_unit.items()},
        "forecast": {str(year): dict(units) for year, units in sorted(cov.forecast.items())},
        # licence seats due for renewal: budget year -> unit code -> product -> seats
        "forecast_licences": {str(year): {unit: dict(products) for unit, products in units.items()}
                              for year, units in sorted(cov.forecast_licences.items())},
        "oldest": oldest,
        # what a person reads for each device id in the item lists: host name or name, and model
        "devices": {str(i): document.device_labels[i] for i in sorted(_device_ids(cov)) if i in document.device_labels},
        "previous": None,
        "title": list(document.title),
        "blocks": [_block(b) for b in document.blocks],
    }
    if document.previous is not None:
        out["previous"] = {"as_of": document.previous.as_of.isoformat(),
                           "figures": _figures(document.previous.figures, labels)}
    return out


def render_json(document: ReportDocument) -> str:
    """The JSON text, UTF-8 friendly (Vietnamese stays readable), keys in a stable order."""
    return json.dumps(report_json(document), ensure_ascii=False, indent=2) + "\n"
