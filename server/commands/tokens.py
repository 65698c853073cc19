"""``kiemke-server token create --unit CODE [--days N]``: a new enrolment token for a unit."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from server.commands._common import add_json


def register(sub: Any) -> None:
    """Add the ``token`` sub-command."""
    parser = sub.add_parser("token", help="enrolment tokens for agents")
    actions = parser.add_subparsers(dest="token_action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="print a new enrolment token for a unit")
    create.add_argument("--unit", required=True, help="unit code the enrolled PCs belong to")
    create.add_argument("--days", type=int, default=None, help="days the token stays valid (default 14)")
    create.add_argument("--max-uses", type=int, default=None, help="how many agents may use it (default: any)")
    add_json(create)
    create.set_defaults(handler=run_create)


def run_create(args: argparse.Namespace) -> int:
    """Create the token and print it once."""
    from server.commands._common import fail, open_db, print_json
    from server.config import Settings
    from server.db import writing
    from server.services.enrolment import EnrolmentError, create_token
    from server.services.records import os_user

    days = args.days or Settings.from_env().token_days
    if days <= 0:
        return fail("--days must be positive")
    engine = open_db()
    try:
        with writing(engine) as session:
            plain, token = create_token(session, args.unit, days=days, actor=os_user(), max_uses=args.max_uses)
    except EnrolmentError as exc:
        return fail(str(exc))
    finally:
        engine.dispose()
    if args.json:
        print_json({"token": plain, "unit": args.unit, "expires_at": token.expires_at.isoformat(),
                    "max_uses": token.max_uses})
    else:
        print(plain)
        # The details go to stderr so that TOKEN=$(kiemke-server token create ...) captures the token alone.
        print(f"unit {args.unit}, valid until {token.expires_at:%Y-%m-%d %H:%M} UTC", file=sys.stderr)
    return 0
