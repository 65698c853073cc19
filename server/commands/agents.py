"""``kiemke-server agents list [--unit CODE] [--json]`` and ``agents revoke AGENT_ID``: enrolled agents' keys."""

from __future__ import annotations

import argparse
from typing import Any

from server.commands._common import add_json


def register(sub: Any) -> None:
    """Add the ``agents`` sub-command."""
    parser = sub.add_parser("agents", help="enrolled agents: list them, revoke a key")
    actions = parser.add_subparsers(dest="agents_action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list enrolled agents with their unit, machine and state")
    listing.add_argument("--unit", help="only the agents of this unit (not its sub-units)")
    add_json(listing)
    listing.set_defaults(handler=run_list)
    revoke = actions.add_parser("revoke", help="revoke an agent's key: it must enrol again to report")
    revoke.add_argument("agent_id", metavar="AGENT_ID", help="the agent's id, as 'agents list' shows it")
    add_json(revoke)
    revoke.set_defaults(handler=run_revoke)


def run_list(args: argparse.Namespace) -> int:
    """Print the agents, newest first; exit code 2 for an unknown unit."""
    from server.commands._common import fail, open_db, print_json
    from server.db import reading
    from server.services.enrolment import list_agents
    from server.services.records import unit_by_code

    engine = open_db()
    try:
        with reading(engine) as session:
            unit_id = None
            if args.unit is not None:
                unit = unit_by_code(session, args.unit)
                if unit is None:
                    return fail(f"unknown unit {args.unit!r}")
                unit_id = unit.id
            rows = list_agents(session, unit_id=unit_id)
    finally:
        engine.dispose()
    if args.json:
        data = [row.as_json() for row in rows]
        print_json({"data": data, "count": len(data)})
        return 0
    from server.clock import local_minute
    from server.commands._common import settings, terminal, text_table

    tz = settings().tz
    table = text_table(f"{len(rows)} agents (times in {tz})")
    for column in ("agent id", "unit", "machine id", "hostname", "device", "enrolled", "last seen", "state"):
        table.add_column(column)
    for a in rows:
        table.add_row(str(a.id), a.unit, a.machine_id or "", a.hostname or "", str(a.device_id or ""),
                      local_minute(a.created_at, tz), local_minute(a.last_seen, tz),
                      f"revoked {local_minute(a.revoked_at, tz)}" if a.revoked_at else "live")
    terminal().print(table)  # agent names: printed as text, control characters removed
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    """Revoke one agent's key (audited); exit code 2 when there is no such live agent."""
    import uuid

    from server.commands._common import fail, open_db, print_json
    from server.db import writing
    from server.services.enrolment import revoke
    from server.services.records import os_user

    try:
        agent_id = uuid.UUID(args.agent_id)
    except ValueError:
        return fail(f"{args.agent_id!r} is not an agent id (see 'kiemke-server agents list')")
    engine = open_db()
    try:
        with writing(engine) as session:
            done = revoke(session, agent_id, actor=os_user())
    finally:
        engine.dispose()
    if not done:
        return fail(f"no live agent {agent_id}: unknown or already revoked")
    if args.json:
        print_json({"agent_id": str(agent_id), "revoked": True})
    else:
        print(f"agent {agent_id} revoked: its reports are refused until the PC enrols again")
    return 0
