"""``kiemke-server user create|list|disable|enable|passwd``: the people who sign in to the console."""

from __future__ import annotations

import argparse
from typing import Any

from server.commands._common import add_json


def register(sub: Any) -> None:
    """Add the ``user`` sub-command."""
    parser = sub.add_parser("user", help="console users: create, list, disable, enable, passwd")
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
    add_json(create)
    create.set_defaults(handler=run_create)
    listing = actions.add_parser("list", help="list the console users")
    add_json(listing)
    listing.set_defaults(handler=run_list)
    for action, text in (("disable", "refuse the user's sign-ins and open sessions from now on"),
                         ("enable", "let a disabled user sign in again")):
        toggle = actions.add_parser(action, help=text)
        toggle.add_argument("username", metavar="USERNAME")
        add_json(toggle)
        toggle.set_defaults(handler=run_toggle, disable=action == "disable")
    contact = actions.add_parser("contact", help="set where and in which language the user's alert digest goes")
    contact.add_argument("username", metavar="USERNAME")
    contact.add_argument("--email", default=None, metavar="ADDRESS",
                         help="e-mail address of the alert digest (an empty value: no digest)")
    contact.add_argument("--lang", choices=("vi", "en"), default=None, help="language of the digest")
    add_json(contact)
    contact.set_defaults(handler=run_contact)
    passwd = actions.add_parser("passwd", help="set a user's password (asks twice, or --password-stdin); "
                                "the user's open sessions end")
    passwd.add_argument("username", metavar="USERNAME")
    passwd.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input (for scripts)")
    add_json(passwd)
    passwd.set_defaults(handler=run_passwd)


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
    from server.services.records import os_user
    from server.services.users import UserError, create_user

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
    if args.json:
        from server.commands._common import print_json

        print_json({"username": args.username, "role": args.role, "unit": args.unit})
        return 0
    scope = f"unit {args.unit} and its sub-units" if args.unit else "every unit"
    print(f"Created {args.role} {args.username!r}, who sees {scope}.")
    return 0


def run_toggle(args: argparse.Namespace) -> int:
    """Disable or enable the user; exit 2 for an unknown name."""
    from server.commands._common import fail, open_db, print_json
    from server.services.records import os_user
    from server.services.users import UserError, set_disabled

    engine = open_db()
    try:
        changed = set_disabled(engine, args.username, args.disable, actor=os_user())
    except UserError as exc:
        return fail(str(exc))
    finally:
        engine.dispose()
    state = "disabled" if args.disable else "enabled"
    if args.json:
        print_json({"username": args.username, "disabled": args.disable, "changed": changed})
    else:
        print(f"{args.username!r} {state}" if changed else f"{args.username!r} was already {state}")
    return 0


def run_contact(args: argparse.Namespace) -> int:
    """Set the user's e-mail address and language (audited); exit 2 when refused or the user is unknown."""
    import sqlalchemy as sa

    from server.commands._common import fail, open_db, print_json
    from server.db import reading
    from server.models import User, table_of
    from server.services.records import os_user
    from server.services.users import UserError, set_contact

    engine = open_db()
    try:
        email = args.email
        if email is None:  # keep the address when only the language changes
            with reading(engine) as session:
                email = session.execute(sa.select(table_of(User).c.email)
                                        .where(table_of(User).c.username == args.username)).scalar()
        set_contact(engine, args.username, email, args.lang, actor=os_user())
        with reading(engine) as session:
            row = session.execute(sa.select(table_of(User).c.email, table_of(User).c.lang)
                                  .where(table_of(User).c.username == args.username)).one()
    except UserError as exc:
        return fail(str(exc))
    finally:
        engine.dispose()
    if args.json:
        print_json({"username": args.username, "email": row.email, "lang": row.lang})
    else:
        print(f"{args.username!r}: alert digest to {row.email or '(nobody: no address)'} in {row.lang}")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    """Set the password (never printed); exit 2 when it is refused or the user is unknown."""
    from server.commands._common import fail, open_db, print_json
    from server.services.records import os_user
    from server.services.users import UserError, set_password

    password = _read_password(args.password_stdin)
    if password is None:
        return fail("the two passwords differ")
    engine = open_db()
    try:
        set_password(engine, args.username, password, actor=os_user())
    except UserError as exc:
        return fail(str(exc))
    finally:
        engine.dispose()
    if args.json:
        print_json({"username": args.username, "password_changed": True})
    else:
        print(f"Password of {args.username!r} changed; the user's open sessions have ended.")
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
            sa.select(user.c.id, user.c.username, user.c.role, unit.c.code, user.c.disabled, user.c.created_at,
                      user.c.email, user.c.lang)
            .select_from(user.outerjoin(unit, user.c.unit_id == unit.c.id)).order_by(user.c.username)
        ).all()
    engine.dispose()
    data = [{"id": r.id, "username": r.username, "role": r.role, "unit": r.code, "disabled": r.disabled,
             "created_at": r.created_at.isoformat() if r.created_at else None, "email": r.email, "lang": r.lang}
            for r in rows]
    if args.json:
        print_json({"data": data, "count": len(data)})
        return 0
    from server.clock import local_minute
    from server.commands._common import settings, terminal, text_table

    tz = settings().tz
    table = text_table(f"{len(data)} console users (times in {tz})")
    for column in ("username", "role", "unit", "disabled", "created", "e-mail", "lang"):
        table.add_column(column)
    for r, row in zip(rows, data, strict=True):
        table.add_row(row["username"], row["role"], row["unit"] or "(all)", "yes" if row["disabled"] else "",
                      local_minute(r.created_at, tz), row["email"] or "", row["lang"])
    terminal().print(table)  # names come from agents and spreadsheets: print, never style
    return 0
