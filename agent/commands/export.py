"""``kiemke-agent export --out DIR``: the spool as one signed bundle, for a USB stick from an air-gapped PC."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.config import add_data_dir_argument, configure_logging, settings_from_args


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``export``."""
    parser = subparsers.add_parser(
        "export", help="write the spooled reports as a signed bundle (air-gapped PCs)",
        description="Collect once more, then write every spooled report into one bundle signed with this "
        "agent's key, in DIR; the exported reports leave the spool. Import it with `kiemke-server import`.",
    )
    parser.add_argument("--out", metavar="DIR", type=Path, required=True, help="directory to write the bundle to")
    parser.add_argument(
        "--no-collect", action="store_true", help="export only what the spool holds, without a fresh collection"
    )
    add_data_dir_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the bundle and say where."""
    from agent.config import ConfigError
    from agent.service import export_bundle
    from agent.spool import LockBusy, SpoolWriteError

    configure_logging()
    try:
        settings = settings_from_args(args)
        path, count = export_bundle(settings, args.out, collect_first=not args.no_collect)
    except LockBusy as exc:
        print(f"busy: {exc}; try again in a minute", file=sys.stderr)
        return 75
    except (ConfigError, RuntimeError, SpoolWriteError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Exported {count} report(s) to {path}. Import it on the server with `kiemke-server import {path.name}`.")
    return 0
