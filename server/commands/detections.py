"""``kiemke-server detections list``: malware detections to act on, per unit, with their status as of a date."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from typing import Any

from server.commands._common import add_json
from server.commands._coverage import add_scope, cut_off_date

STATUS_CHOICES = ("unremediated", "active", "failed", "remediated", "allowed", "unknown")
SEVERITY_CHOICES = ("severe", "high", "moderate", "low", "unknown")


def register(sub: Any) -> None:
    """Add the ``detections`` sub-command."""
    parser = sub.add_parser("detections", help="malware detections from the antivirus histories")
    actions = parser.add_subparsers(dest="detections_action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="list detections with device, unit, threat, severity, status and action",
        description="Detections as they stood at the end of the cut-off date, unremediated (active or failed) "
        "first. A detection seen in many reports is listed once.",
    )
    add_scope(listing)
    listing.add_argument("--since", type=cut_off_date, default=None, metavar="YYYY-MM-DD",
                         help="only detections found or changed on or after this day (district time)")
    listing.add_argument("--status", action="append", choices=STATUS_CHOICES, default=None,
                         help="only this status (repeatable; unremediated = active or failed)")
    listing.add_argument("--severity", action="append", choices=SEVERITY_CHOICES, default=None,
                         help="only this severity (repeatable)")
    add_json(listing)
    listing.set_defaults(handler=run_list)


def run_list(args: argparse.Namespace) -> int:
    """Print the scope's detections; exit code 2 for an unknown unit."""
    from server.bounds import EARLIEST_DAY
    from server.clock import end_of_day
    from server.commands._common import fail, open_db, print_json
    from server.commands._coverage import compute
    from server.db import reading
    from server.services.detections import DetectionFilter, detection_entries
    from server.services.figures import UnknownUnit

    try:  # --as-of and --since are already within EARLIEST_DAY..LATEST_DAY (``_coverage.cut_off_date``)
        computed = compute(args.as_of, args.unit)
    except UnknownUnit as exc:
        return fail(str(exc))
    as_of: date = computed.coverage.as_of
    if args.since is not None and not EARLIEST_DAY <= args.since <= as_of:
        return fail(f"--since {args.since.isoformat()} must lie between {EARLIEST_DAY.isoformat()} and the cut-off "
                    f"date {as_of.isoformat()}")
    narrow = DetectionFilter(
        statuses=frozenset(args.status or ()), severities=frozenset(args.severity or ()),
        since=end_of_day(args.since - timedelta(days=1), computed.tz) if args.since else None,
    )
    engine = open_db()
    try:
        with reading(engine) as session:
            entries = detection_entries(session, computed.snapshot, computed.coverage.assessments,
                                        end_of_day(as_of, computed.tz), narrow)
    finally:
        engine.dispose()
    figures = computed.coverage.figures
    if args.json:
        print_json({
            "as_of": as_of.isoformat(), "unit": args.unit, "data": [e.as_json() for e in entries],
            "count": len(entries),
            "figures": {k: figures[k].as_json() for k in ("computers_with_detections", "detections_unremediated")},
        })
        return 0
    _print_table(entries, as_of.isoformat(), computed.tz)
    return 0


def _print_table(entries: list[Any], as_of: str, tz: Any) -> None:
    from server.clock import local_minute
    from server.commands._common import terminal, text_table

    table = text_table(f"{len(entries)} detections as of the end of {as_of}")
    for column in ("id", "unit", "device", "threat", "severity", "status", "since", "action", "files"):
        table.add_column(column, justify="right" if column == "id" else "left")
    for e in entries:
        action = (e.action or "") + {True: " (ok)", False: " (failed)", None: ""}[e.action_success]
        table.add_row(str(e.id), e.unit_code, e.device_name or f"#{e.device_id}", e.threat, e.severity, e.status,
                      local_minute(e.status_since, tz), action, "; ".join(e.resources[:3]))
    terminal().print(table)
