"""``kiemke-server alerts list|ack|evaluate|digest``: the alerts to the officer, from the command line.

``list [--unit CODE] [--state S] [--rule R] [--json]``: alerts newest first (a unit means its subtree, plus
district-wide alerts); ``ack ID [--comment TEXT] [--json]``: acknowledge one (audited as the OS user);
``evaluate [--json]``: every rule over the district now; ``digest [--json]``: send the due digests now
(whatever the hour; each officer still gets only what is new since their last digest).
"""

from __future__ import annotations

import argparse
from typing import Any

from server.commands._common import add_json

STATES = ("open", "acknowledged", "resolved")


def register(sub: Any) -> None:
    """Add the ``alerts`` sub-command."""
    from server.alerts.rules import RULES

    parser = sub.add_parser("alerts", help="alerts to the officer: list, acknowledge, evaluate now, send digests")
    actions = parser.add_subparsers(dest="alerts_action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list alerts, newest first")
    listing.add_argument("--unit", help="only this unit and its sub-units (district-wide alerts included)")
    listing.add_argument("--state", choices=STATES, action="append", help="only alerts in this state (repeatable)")
    listing.add_argument("--rule", choices=RULES, action="append", help="only this rule (repeatable)")
    add_json(listing)
    listing.set_defaults(handler=run_list)
    ack = actions.add_parser("ack", help="acknowledge an alert: known and being handled")
    ack.add_argument("alert_id", metavar="ID", type=int, help="the alert's id, as 'alerts list' shows it")
    ack.add_argument("--comment", default="", help="what is being done (kept with the alert and in the audit log)")
    add_json(ack)
    ack.set_defaults(handler=run_ack)
    evaluate = actions.add_parser("evaluate", help="evaluate every rule over the district now")
    add_json(evaluate)
    evaluate.set_defaults(handler=run_evaluate)
    digest = actions.add_parser("digest", help="send the officers' alert digests now (the SMTP settings)")
    add_json(digest)
    digest.set_defaults(handler=run_digest)


def run_list(args: argparse.Namespace) -> int:
    """Print the alerts; exit code 2 for an unknown unit."""
    from server.alerts.digest import subtree
    from server.alerts.store import list_alerts
    from server.commands._common import fail, open_db, print_json
    from server.db import reading
    from server.services.records import unit_by_code

    engine = open_db()
    try:
        with reading(engine) as session:
            units = None
            if args.unit is not None:
                unit = unit_by_code(session, args.unit)
                if unit is None or unit.id is None:
                    return fail(f"unknown unit {args.unit!r}")
                units = subtree(session, unit.id)
            rows = list_alerts(session, units=units, states=args.state, rules=args.rule)
    finally:
        engine.dispose()
    if args.json:
        data = [row.as_json() for row in rows]
        print_json({"data": data, "count": len(data)})
        return 0
    from server.alerts.texts import summary
    from server.clock import local_minute
    from server.commands._common import settings, terminal, text_table

    tz = settings().tz
    table = text_table(f"{len(rows)} alerts (times in {tz})")
    for column in ("id", "state", "rule", "unit", "device", "about", "opened", "acknowledged / resolved"):
        table.add_column(column)
    for a in rows:
        after = ""
        if a.resolved_at:
            after = f"resolved {local_minute(a.resolved_at, tz)}"
        elif a.acknowledged_at:
            after = f"{a.acknowledged_by} {local_minute(a.acknowledged_at, tz)}: {a.ack_comment or ''}"
        table.add_row(str(a.id), a.state, a.rule, a.unit_code or "(district)", a.device_name or "",
                      summary(a.rule, a.subject, a.detail), local_minute(a.opened_at, tz), after)
    terminal().print(table)
    return 0


def run_ack(args: argparse.Namespace) -> int:
    """Acknowledge one alert; exit code 2 when it is unknown or already resolved."""
    from server.alerts.store import AlertError, acknowledge
    from server.clock import utcnow
    from server.commands._common import fail, open_db, print_json
    from server.db import writing
    from server.services.records import os_user

    engine = open_db()
    try:
        with writing(engine) as session:
            line = acknowledge(session, args.alert_id, os_user(), args.comment, utcnow())
    except AlertError as exc:
        return fail(str(exc))
    finally:
        engine.dispose()
    if args.json:
        print_json(line.as_json())
    else:
        print(f"alert {line.id} ({line.rule}) acknowledged by {line.acknowledged_by}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate every rule now and print what opened and resolved."""
    from server.alerts.evaluate import evaluate_all
    from server.commands._common import open_db, print_json, settings
    from server.services.policy import Policy

    config = settings()
    engine = open_db()
    try:
        changes = evaluate_all(engine, Policy.from_settings(config), config.tz)
    finally:
        engine.dispose()
    if args.json:
        print_json(changes.as_json())
    else:
        print(f"{len(changes.opened)} alerts opened, {len(changes.resolved)} resolved")
    return 0


def run_digest(args: argparse.Namespace) -> int:
    """Send the due digests now; exit code 1 when some could not be sent, 2 without an SMTP server."""
    from server.alerts.config import AlertSettings
    from server.alerts.digest import send_digests
    from server.commands._common import fail, open_db, print_json, settings

    mail = AlertSettings.from_env()
    if not mail.mail_configured:
        return fail("no SMTP server configured: set KIEMKE_SMTP_HOST (and KIEMKE_SMTP_FROM, ...)")
    engine = open_db()
    try:
        run = send_digests(engine, mail, settings().tz)
    finally:
        engine.dispose()
    if args.json:
        print_json(run.as_json())
    else:
        for username, count in run.sent:
            print(f"sent to {username}: {count} new alerts")
        print(f"{len(run.sent)} digests sent, {len(run.nothing_new)} users with nothing new"
              + (f", {len(run.failed)} not sent: {run.error or 'refused by the mail server'}" if run.failed else ""))
    return 1 if run.failed else 0
