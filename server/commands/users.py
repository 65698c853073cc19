"""``kiemke-server user create`` and ``user list``: the people who sign in to the console."""

from __future__ import annotations

import argparse
from typing import Any

from server.commands._common import add_json


def register(sub: Any) -> None:
    """Add the ``user`` sub-command."""
    parser = sub.add_parser("user", help="console users: create, list")
    actions = parser.add_subparsers(dest="user_action", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create",
        help="create a console user (asks for the password twice, or reads one line with --password-stdin)",
        description="admin sees every unit and manages users; officer and viewer see only their --unit and its "
        "sub-units when one is given. The password is stored only as a scrypt hash.",
    )
    create.add_argument("--username", required=True, help="the name to sign in with (no spaces)")
    create.add_argument("--role", required=True, choices=("admin", "officer", "viewer"), help="what the user may do")
    create.add_argument("--unit", default=None, metavar="CODE",
                        help="limit what the user sees to this unit and its sub-units")
    create.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input (for scripts)")
    create.set_defaults(handler=run_create)
    listing = actions.add_parser("list", help="list the console users")
    add_json(listing)
    listing.set_defaults(handler=run_list)


def _read_password(from_stdin: bool) -> str | None:
    import getpass
    import sys

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        return None
    return first


def run_create(args: argparse.Namespace) -> int:
    """Create the user; exit code 2 when it is refused (name taken, unknown unit, short password)."""
    from server.commands._common import fail, open_db
    from server.console.auth import UserError, create_user
    from server.services.records import os_user

    password = _read_password(args.password_stdin)
    if password is None:
        return fail("the two passwords differ")
    engine = open_db()
    try:
        create_user(engine, args.username, password, args.role, args.unit, actor=os_user())
    except UserError as exc:
        return fail(str(exc))
    finally:
        engine.dispose()
    scope = f"unit {args.unit} and its sub-units" if args.unit else "every unit"
    print(f"Created {args.role} {args.username!r}, who sees {scope}.")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print the users (never their password hashes)."""
    import sqlalchemy as sa

    from server.commands._common import open_db, print_json
    from server.db import reading
    from server.models import OrgUnit, User, table_of

    user, unit = table_of(User), table_of(OrgUnit)
    engine = open_db()
    with reading(engine) as session:
        rows = session.execute(
            sa.select(user.c.id, user.c.username, user.c.role, unit.c.code, user.c.disabled, user.c.created_at)
            .select_from(user.outerjoin(unit, user.c.unit_id == unit.c.id)).order_by(user.c.username)
        ).all()
    engine.dispose()
    data = [{"id": r.id, "username": r.username, "role": r.role, "unit": r.code, "disabled": r.disabled,
             "created_at": r.created_at.isoformat() if r.created_at else None} for r in rows]
    if args.json:
        print_json({"data": data, "count": len(data)})
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(data)} console users")
    for column in ("username", "role", "unit", "disabled", "created"):
        table.add_column(column)
    for row in data:
        table.add_row(row["username"], row["role"], row["unit"] or "(all)", "yes" if row["disabled"] else "",
                      (row["created_at"] or "")[:16].replace("T", " "))
    Console(markup=False).print(table)  # names come from agents and spreadsheets: print, never style
    return 0
