"""``kiemke-server token create|list|revoke``: enrolment tokens for the PCs of a unit."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from server.commands._common import add_json


def register(sub: Any) -> None:
    """Add the ``token`` sub-command."""
    parser = sub.add_parser("token", help="enrolment tokens for agents: create, list, revoke")
    actions = parser.add_subparsers(dest="token_action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="print a new enrolment token for a unit")
    create.add_argument("--unit", required=True, help="unit code the enrolled PCs belong to")
    create.add_argument("--days", type=int, default=None, help="days the token stays valid (default 14)")
    create.add_argument("--max-uses", type=int, default=None, help="how many agents may use it (default: any)")
    add_json(create)
    create.set_defaults(handler=run_create)
    listing = actions.add_parser("list", help="list the enrolment tokens (never the tokens themselves)")
    listing.add_argument("--unit", default=None, metavar="CODE", help="only this unit's tokens")
    add_json(listing)
    listing.set_defaults(handler=run_list)
    revoke = actions.add_parser("revoke", help="revoke a token: enrolment with it is then refused (403)")
    revoke.add_argument("token", metavar="TOKEN_ID_OR_PREFIX",
                        help="the id or fingerprint shown by 'token list', or the token itself")
    add_json(revoke)
    revoke.set_defaults(handler=run_revoke)


def run_create(args: argparse.Namespace) -> int:
    """Create the token and print it once."""
    from server.commands._common import fail, open_db, print_json, settings
    from server.db import writing
    from server.services.enrolment import EnrolmentError, create_token
    from server.services.records import os_user

    if args.days is not None and args.days <= 0:
        return fail(f"--days must be 1 or more, not {args.days} (leave it out for {settings().token_days} days)")
    if args.max_uses is not None and args.max_uses <= 0:
        return fail(f"--max-uses must be 1 or more, not {args.max_uses}")
    days = args.days or settings().token_days
    engine = open_db()
    try:
        with writing(engine) as session:
            plain, token = create_token(session, args.unit, days=days, actor=os_user(), max_uses=args.max_uses)
    except EnrolmentError as exc:
        return fail(str(exc))
    finally:
        engine.dispose()
    if args.json:
        print_json({"token": plain, "id": token.id, "unit": args.unit, "expires_at": token.expires_at.isoformat(),
                    "max_uses": token.max_uses})
    else:
        print(plain)
        # The details go to stderr so that TOKEN=$(kiemke-server token create ...) captures the token alone.
        from server.clock import local_minute

        tz = settings().tz
        print(f"unit {args.unit}, valid until {local_minute(token.expires_at, tz)} ({tz}) (id {token.id})",
              file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print the tokens with their state."""
    from server.commands._common import open_db, print_json, terminal, text_table
    from server.db import reading
    from server.models import utcnow
    from server.services.token_admin import list_tokens

    engine = open_db()
    try:
        with reading(engine) as session:
            rows = list_tokens(session, args.unit)
    finally:
        engine.dispose()
    now = utcnow()
    data = [{"id": r.id, "fingerprint": r.fingerprint, "unit": r.unit, "state": r.state(now),
             "created_at": r.created_at.isoformat(), "expires_at": r.expires_at.isoformat(),
             "created_by": r.created_by, "uses": r.uses, "max_uses": r.max_uses,
             "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None} for r in rows]
    if args.json:
        print_json({"data": data, "count": len(data)})
        return 0
    from server.clock import local_minute
    from server.commands._common import settings

    tz = settings().tz
    table = text_table(f"{len(data)} enrolment tokens (times in {tz})")
    for column in ("id", "fingerprint", "unit", "state", "uses", "expires", "created by"):
        table.add_column(column)
    for r, row in zip(rows, data, strict=True):
        uses = f"{row['uses']}/{row['max_uses']}" if row["max_uses"] is not None else str(row["uses"])
        table.add_row(str(row["id"]), str(row["fingerprint"]), str(row["unit"]), str(row["state"]), uses,
                      local_minute(r.expires_at, tz), str(row["created_by"] or ""))
    terminal().print(table)
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    """Revoke the token; exit 2 when no single token matches."""
    from server.commands._common import fail, open_db, print_json
    from server.db import writing
    from server.models import utcnow
    from server.services.records import os_user
    from server.services.token_admin import FINGERPRINT, TokenNotFound, revoke_token

    engine = open_db()
    try:
        with writing(engine) as session:
            token, changed = revoke_token(session, args.token, actor=os_user(), now=utcnow())
    except TokenNotFound as exc:
        return fail(str(exc.args[0]))
    finally:
        engine.dispose()
    if args.json:
        print_json({"id": token.id, "fingerprint": token.token_hash[:FINGERPRINT], "revoked": True,
                    "already_revoked": not changed})
    else:
        outcome = "revoked" if changed else "was already revoked"
        print(f"token {token.id} ({token.token_hash[:FINGERPRINT]}) {outcome}")
    return 0
