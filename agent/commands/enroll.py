"""``kiemke-agent enroll``: get this agent's own key, online with a unit's token or from an offline file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.config import add_data_dir_argument, configure_logging, settings_from_args

EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_UNREACHABLE = 4


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``enroll``."""
    parser = subparsers.add_parser(
        "enroll", help="enrol this PC with the server (or install an offline enrolment file)",
        description="Trade the unit's enrolment token for this agent's own key, kept owner-only in the data dir.",
    )
    parser.add_argument("--server", metavar="URL", help="server base URL, e.g. https://kiemke.example.vn")
    parser.add_argument("--token", metavar="TOKEN", help="the unit's enrolment token from the IT officer")
    parser.add_argument("--ca", metavar="FILE", help="PEM CA bundle to trust for this server (private CA)")
    parser.add_argument(
        "--allow-http", action="store_true", help="allow plain http:// (unencrypted; only on a trusted LAN)"
    )
    parser.add_argument(
        "--offline", metavar="FILE", type=Path, help="install an offline enrolment file (air-gapped PC)"
    )
    add_data_dir_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Enrol online or offline; say what happened."""
    from agent.config import ConfigError
    from agent.spool import LockBusy
    from agent.transport import EnrolmentError, InsecureServerError, Outcome

    configure_logging()
    if args.offline and (args.server or args.token):
        print("error: use either --offline FILE or --server URL --token TOKEN", file=sys.stderr)
        return EXIT_USAGE
    if not args.offline and not (args.server and args.token):
        print("error: --server URL and --token TOKEN are required (or --offline FILE)", file=sys.stderr)
        return EXIT_USAGE
    try:
        settings = settings_from_args(args)
        if args.offline:
            from agent.service import enroll_offline

            enroll_offline(settings, args.offline)
            print(f"Enrolled offline as '{settings.device_name}' of unit {settings.unit_code} "
                  f"(agent {settings.agent_id}); settings in {settings.config_path}.")
            print("Reports stay on this PC: carry them with `kiemke-agent export --out DIR`.")
            print(f"The enrolment file holds this PC's signing key: delete {args.offline} from the stick now.")
            return 0
        from agent.service import enroll_online

        enroll_online(settings, args.server, args.token, args.ca, args.allow_http)
    except (InsecureServerError, ConfigError, FileNotFoundError, LockBusy, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PermissionError as exc:
        print(f"error: {exc} (run as administrator / root)", file=sys.stderr)
        return EXIT_USAGE
    except EnrolmentError as exc:
        print(f"error: enrolment failed: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE if exc.delivery.outcome is Outcome.RETRY else EXIT_REFUSED
    print(f"Enrolled with {settings.server_url} in unit {settings.unit_code} (agent {settings.agent_id}); "
          f"settings in {settings.config_path}.")
    return 0
