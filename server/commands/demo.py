"""``kiemke-server demo``: a demo district on SQLite, the simulated fleet and this PC's agent, served."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from server.commands._common import add_json


def register(sub: Any) -> None:
    """Add the ``demo`` sub-command."""
    parser = sub.add_parser("demo", help="run the product with a demo district (SQLite)")
    parser.add_argument("--data-dir", type=Path, default=Path("var/demo"), help="where the demo keeps its data")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to serve on (default 8000)")
    parser.add_argument("--reset", action="store_true", help="start again from an empty demo database")
    parser.add_argument("--no-agent", action="store_true", help="do not enrol this machine's own agent")
    parser.add_argument("--no-browser", action="store_true", help="do not open the console in a browser")
    parser.add_argument("--once", action="store_true", help="seed and report, then stop instead of serving")
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; print a summary (or JSON) when it stops."""
    from dataclasses import asdict

    from server.commands._common import fail, print_json
    from server.demo.run import DemoError, run_demo

    try:
        result = run_demo(args.data_dir, args.host, args.port, reset=args.reset, local_agent=not args.no_agent,
                          browser=not args.no_browser and not args.once, serve_forever=not args.once)
    except DemoError as exc:
        return fail(str(exc))
    if args.json:
        print_json(asdict(result))
    else:
        print(f"Demo data in {result.data_dir}; {result.fleet_reports} fleet reports sent; "
              f"local agent: {result.local_agent.rstrip('.')}.")
        for note in result.notes:
            print(f"note: {note}")
        print("Figures: kiemke-server figures   (with KIEMKE_DATA_DIR=" + result.data_dir + ")")
    return 0
