"""``kiemke-agent report``: collect once, spool it, deliver the spool; exit 0 when delivered or safely spooled."""

from __future__ import annotations

import argparse
import sys

from agent.config import add_data_dir_argument, configure_logging, enrolled_settings_from_args

EXIT_NOT_SPOOLED = 1
EXIT_NOT_ENROLLED = 2
EXIT_BUSY = 75  # EX_TEMPFAIL: another run holds the lock; nothing was done


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``report``."""
    parser = subparsers.add_parser(
        "report", help="collect once and deliver (or keep it in the spool)",
        description="Collect this PC once, write the report to the spool, then send what the spool holds, "
        "oldest first, one try each. Exit 0 when the report was delivered or safely spooled.",
    )
    parser.add_argument(
        "--no-send", action="store_true", help="only collect into the spool; leave delivery to the daemon"
    )
    parser.add_argument(
        "--wait", metavar="SECONDS", type=float, default=0.0,
        help="if another collection or delivery is running, wait up to SECONDS for it (default: give up at once)",
    )
    add_data_dir_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Collect, spool, deliver; print one line on where the report is."""
    from agent.collect import CollectError
    from agent.service import REENROL_MESSAGE, report_once
    from agent.spool import LockBusy, SpoolWriteError
    from agent.transport import InsecureServerError, Outcome

    configure_logging()
    settings = enrolled_settings_from_args(args)
    if settings is None:
        return EXIT_NOT_ENROLLED
    try:
        summary = report_once(settings, send=not args.no_send, lock_wait=args.wait)
    except LockBusy as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except (SpoolWriteError, PermissionError) as exc:
        print(f"ERROR: the report could not be saved and is lost: {exc}. Free disk space or check permissions "
              f"on {settings.spool_dir}.", file=sys.stderr)
        return EXIT_NOT_SPOOLED
    except CollectError as exc:
        print(f"ERROR: no report could be made on this PC: {exc}", file=sys.stderr)
        return EXIT_NOT_SPOOLED
    except InsecureServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOT_ENROLLED
    r = summary.round
    older = r.delivered + r.duplicates - (1 if summary.new_report_delivered else 0)
    if summary.new_report_delivered:
        line = f"Report {summary.report_id} delivered to {settings.server_url}."
        if older:
            line += f" {older} older report(s) from the spool delivered too."
    elif not settings.server_url:
        line = (f"Report {summary.report_id} saved in the spool for export (air-gapped agent); "
                f"{r.waiting} report(s) waiting for `kiemke-agent export`.")
    elif args.no_send:
        line = f"Report {summary.report_id} saved in the spool; {r.waiting} report(s) waiting."
    else:
        why = r.stopped_by.detail if r.stopped_by else "not sent"
        if r.stopped_by and r.stopped_by.outcome is Outcome.REENROL:
            why = REENROL_MESSAGE
        line = f"Report {summary.report_id} saved in the spool, not delivered ({why}); {r.waiting} waiting."
    print(line)
    if r.set_aside:
        print(f"{r.set_aside} report(s) refused by the server were set aside in {settings.spool_dir / 'rejected'}.")
    if summary.dropped:
        print(f"WARNING: spool full, {summary.dropped} oldest report(s) dropped.", file=sys.stderr)
    return 0
