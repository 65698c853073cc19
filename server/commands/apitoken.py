"""``kiemke-server apitoken create|list|revoke``: personal tokens for the read API (``/api/v1/devices`` ...)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from server.commands._common import add_json


def register(sub: Any) -> None:
    """Add the ``apitoken`` sub-command."""
    parser = sub.add_parser("apitoken", help="personal tokens for the read API: create, list, revoke")
    actions = parser.add_subparsers(dest="apitoken_action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="print a new API token for a user (shown once)",
                                description="The token acts as the user: their role and unit scope, as they "
                                            "stand at each request.")
    create.add_argument("--user", required=True, help="the console user the token acts as")
    create.add_argument("--name", required=True, help="what the token is for (shown in lists and the audit log)")
    create.add_argument("--days", type=int, default=None, help="days the token stays valid (default 90, at most 366)")
    add_json(create)
    create.set_defaults(handler=run_create)
    listing = actions.add_parser("list", help="list API tokens with their state and last use (never the secret)")
    listing.add_argument("--user", default=None, help="only this user's tokens")
    add_json(listing)
    listing.set_defaults(handler=run_list)
    revoke = actions.add_parser("revoke", help="revoke an API token: its next use is refused (401) and audited")
    revoke.add_argument("token_id", type=int, metavar="ID", help="the id shown by 'apitoken list'")
    add_json(revoke)
    revoke.set_defaults(handler=run_revoke)


def run_create(args: argparse.Namespace) -> int:
    """Create the token and print it once."""
    from server.commands._common import fail, open_db, print_json
    from server.db import writing
    from server.models import utcnow
    from server.services.api_tokens import ApiTokenError, create_api_token
    from server.services.records import os_user

    engine = open_db()
    try:
        with writing(engine) as session:
            secret, token = create_api_token(session, args.user, args.name, days=args.days, actor=os_user(),
                                             now=utcnow())
    except ApiTokenError as exc:
        return fail(str(exc))
    finally:
        engine.dispose()
    if args.json:
        print_json({"token": secret, "id": token.id, "user": args.user, "name": token.name,
                    "expires_at": token.expires_at.isoformat()})
        return 0
    print(secret)
    # The details go to stderr so that TOKEN=$(kiemke-server apitoken create ...) captures the token alone.
    print(f"API token {token.id} for {args.user}, valid until {token.expires_at:%Y-%m-%d %H:%M} UTC; "
          "it is not shown again", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print the tokens with their state."""
    from server.clock import local_minute
    from server.commands._common import open_db, print_json, settings, terminal, text_table
    from server.db import reading
    from server.models import utcnow
    from server.services.api_tokens import list_api_tokens

    engine = open_db()
    try:
        with reading(engine) as session:
            rows = list_api_tokens(session, args.user)
    finally:
        engine.dispose()
    now = utcnow()
    if args.json:
        data = [r.as_json(now) for r in rows]
        print_json({"data": data, "count": len(data)})
        return 0
    tz = settings().tz
    table = text_table(f"{len(rows)} API tokens (times in {tz})")
    for column in ("id", "user", "name", "state", "expires", "last used", "created by"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r.id), r.username, r.name, r.state(now), local_minute(r.expires_at, tz),
                      local_minute(r.last_used_at, tz) if r.last_used_at else "never", r.created_by)
    terminal().print(table)
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    """Revoke the token; exit 2 when there is no such token."""
    from server.commands._common import fail, open_db, print_json
    from server.db import writing
    from server.models import utcnow
    from server.services.api_tokens import ApiTokenNotFound, revoke_api_token
    from server.services.records import os_user

    engine = open_db()
    try:
        with writing(engine) as session:
            row, changed = revoke_api_token(session, args.token_id, actor=os_user(), now=utcnow())
    except ApiTokenNotFound as exc:
        return fail(str(exc.args[0]))
    finally:
        engine.dispose()
    if args.json:
        print_json({"id": row.id, "user": row.username, "name": row.name, "revoked": True,
                    "already_revoked": not changed})
    else:
        print(f"API token {row.id} ({row.username}: {row.name}) {'revoked' if changed else 'was already revoked'}")
    return 0
