"""``kiemke-server devices list``: every device with its unit, kind, age and how it is known, and compliance."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from server.commands._common import add_json
from server.commands._coverage import add_scope
from server.vocab import COMPUTER_KINDS, IN_USE

if TYPE_CHECKING:
    from server.services.figure import Assessment
    from server.services.state import DeviceState


def register(sub: Any) -> None:
    """Add the ``devices`` sub-command."""
    parser = sub.add_parser("devices", help="devices: age, compliance, last report")
    actions = parser.add_subparsers(dest="devices_action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="list devices with unit, kind, age and its source, compliance issues, last seen, reports received",
        description="Devices as they stood at the end of the cut-off date. reports_received counts distinct "
        "reports: a report sent twice counts once.",
    )
    add_scope(listing)
    listing.add_argument("--problems", action="store_true",
                         help="only devices with a compliance issue or past their service life")
    add_json(listing)
    listing.set_defaults(handler=run_list)


def device_row(device: DeviceState, assessment: Assessment) -> dict[str, Any]:
    """One device as JSON-ready data."""
    return {
        "id": device.id,
        "name": device.name or device.hostname,
        "unit": device.unit_code,
        "kind": device.kind,
        "status": device.status,
        "vendor": device.vendor,
        "model": device.model,
        "serial": device.serial,
        "air_gapped": device.air_gapped,
        "in_service_date": assessment.in_service_date.isoformat() if assessment.in_service_date else None,
        "age_years": assessment.age_years,
        "age_source": assessment.age_source,
        "age_estimated": assessment.age_estimated,
        "past_service_life": assessment.past_service_life,
        "issues": list(assessment.issues),
        "last_seen": device.last_seen.isoformat() if device.last_seen else None,
        "reports_received": device.reports_received,
        # Another device with this computer's serial (another unit's hand-entered asset, or a PC reinstalled
        # with a new machine id): the officer checks whether they are one machine; nothing was merged.
        "possible_duplicate_of": device.possible_duplicate_of,
    }


def run_list(args: argparse.Namespace) -> int:
    """Print the devices of the scope, by unit then id; exit code 2 for an unknown unit."""
    from server.commands._common import fail, print_json
    from server.commands._coverage import compute
    from server.services.figures import UnknownUnit

    try:
        computed = compute(args.as_of, args.unit)
    except UnknownUnit as exc:
        return fail(str(exc))
    assessments = computed.coverage.assessments
    devices = sorted((d for d in computed.snapshot.devices if d.id in assessments), key=lambda d: (d.unit_code, d.id))
    if args.problems:
        devices = [d for d in devices if assessments[d.id].issues or assessments[d.id].past_service_life]
    names = {d.id: d.name or d.hostname for d in computed.snapshot.devices}
    rows = [device_row(d, assessments[d.id]) for d in devices]
    for row, device in zip(rows, devices, strict=True):
        if device.kind == "monitor":  # the computer whose latest report shows it (None: no longer seen)
            row["attached_to"] = names.get(device.host_id) if device.host_id is not None else None
    if args.json:
        print_json({"as_of": computed.coverage.as_of.isoformat(), "data": rows, "count": len(rows)})
        return 0
    _print_table(rows, computed.coverage.as_of.isoformat())
    return 0


def _age_text(row: dict[str, Any]) -> str:
    if row["age_years"] is None:
        return "unknown"
    source = row["age_source"] + (", est." if row["age_estimated"] else "")
    return f"{row['age_years']:.1f} y ({source})" + (" PAST" if row["past_service_life"] else "")


def _compliance_text(row: dict[str, Any]) -> str:
    if row["status"] != IN_USE:
        return str(row["status"])
    if row["kind"] not in COMPUTER_KINDS:
        return ""
    text = ", ".join(row["issues"]) or "ok"
    if row.get("possible_duplicate_of") is not None:
        text += f"; possible duplicate of #{row['possible_duplicate_of']}"
    return text


def _print_table(rows: list[dict[str, Any]], as_of: str) -> None:
    from server.commands._common import terminal, text_table

    table = text_table(f"{len(rows)} devices as of the end of {as_of}")
    for column in ("id", "unit", "kind", "name", "age", "compliance", "last seen", "reports"):
        table.add_column(column, justify="right" if column in {"id", "reports"} else "left")
    for row in rows:
        last_seen = row["last_seen"][:16].replace("T", " ") if row["last_seen"] else ""
        table.add_row(str(row["id"]), row["unit"], row["kind"], row["name"] or "", _age_text(row),
                      _compliance_text(row), last_seen, str(row["reports_received"]))
    terminal().print(table)  # names come from agents and spreadsheets: print, never style
