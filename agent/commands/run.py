"""``kiemke-agent run``: the daemon. Collects at start and every interval; heartbeats and retries between."""

from __future__ import annotations

import argparse
import logging
import signal

from agent.config import add_data_dir_argument, configure_logging, enrolled_settings_from_args


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``run``."""
    parser = subparsers.add_parser(
        "run", help="run the agent daemon (what the system service starts)",
        description="Collect soon after start and then every interval (default 4 h) with random jitter; a "
        "cheap heartbeat and spool retries in between. Stops on SIGTERM / Ctrl+C.",
    )
    parser.add_argument(
        "--windows-service", action="store_true",
        help="hand over to the Windows service control manager (set by install-agent.ps1, not for people)",
    )
    add_data_dir_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Start the daemon in the foreground until stopped."""
    if args.windows_service:
        from agent.winservice import dispatch

        code: int = dispatch(args.data_dir)
        return code
    settings = enrolled_settings_from_args(args)
    if settings is None:
        return 2
    configure_logging(logging.INFO, settings.data_dir / "agent.log")
    from agent.scheduler import Daemon

    daemon = Daemon(settings)

    def _stop(signum: int, _frame: object) -> None:
        logging.getLogger("kiemke.agent").info("signal %d: stopping", signum)
        daemon.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    daemon.start()
    return 0
