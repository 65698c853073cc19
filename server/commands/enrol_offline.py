"""``kiemke-server enrol-offline --unit CODE --name NAME --out FILE``: enrol an air-gapped PC by file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from server.commands._common import add_json
from server.vocab import COMPUTER_KINDS, DEVICE_KINDS


def register(sub: Any) -> None:
    """Add the ``enrol-offline`` sub-command."""
    parser = sub.add_parser("enrol-offline", help="create an air-gapped device and its offline enrolment file")
    parser.add_argument("--unit", required=True, help="unit code of the PC")
    parser.add_argument("--name", required=True, help="name of the PC, as the officer knows it")
    parser.add_argument("--out", required=True, type=Path, help="file to write (carry it to the PC)")
    parser.add_argument("--kind", default="desktop", choices=[k for k in DEVICE_KINDS if k in COMPUTER_KINDS],
                        help="kind of PC")
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Create device and agent, write the file readable by its owner only."""
    import os

    from server.commands._common import fail, open_db, print_json
    from server.db import writing
    from server.services.enrolment import EnrolmentError, enrol_offline
    from server.services.records import os_user

    if args.out.exists():
        return fail(f"{args.out} exists: choose another file (it would hold a second private key)")
    engine = open_db()
    try:
        with writing(engine) as session:
            enrolment = enrol_offline(session, args.unit, args.name, actor=os_user(), kind=args.kind)
            # Written inside the transaction: no file, no agent; a failed write leaves no orphan agent.
            args.out.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it holds a private key
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(enrolment.model_dump_json(indent=2))
    except EnrolmentError as exc:
        return fail(str(exc))
    finally:
        engine.dispose()
    if args.json:
        print_json({"file": str(args.out), "agent_id": str(enrolment.agent_id), "unit": args.unit,
                    "device_name": args.name})
    else:
        print(f"wrote {args.out} for {args.name} in {args.unit} (agent {enrolment.agent_id}); keep it private")
    return 0
