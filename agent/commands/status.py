"""``kiemke-agent status``: enrolment, last collection and delivery, spool depth, next run, last errors."""

from __future__ import annotations

import argparse
import json
from typing import Any

from agent.config import add_data_dir_argument, settings_from_args


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``status``."""
    parser = subparsers.add_parser("status", help="show enrolment, deliveries, spool and errors")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_data_dir_argument(parser)
    parser.set_defaults(handler=run)


def _when(value: object) -> str:
    return str(value).replace("T", " ").replace("+00:00", " UTC") if value else "never"


def render(data: dict[str, Any]) -> None:
    """The rich view for a person at the PC."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    table = Table(title="kiemke-agent", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    # Names and messages come from the officer, the server and the OS: escaped, so rich prints "[...]" as text.
    unit = escape(str(data["unit_code"]))
    if not data["enrolled"]:
        enrolment = "[red]not enrolled[/red] - run `kiemke-agent enroll`"
    elif data["offline"]:
        enrolment = f"[cyan]air-gapped[/cyan]: '{escape(str(data['device_name']))}' of unit {unit}"
    else:
        enrolment = f"[green]enrolled[/green] in unit {unit}"
    table.add_row("Enrolment", enrolment)
    server = escape(data["server"]) if data["server"] else "none (reports leave by `kiemke-agent export`)"
    if data["plain_http"]:
        server += "  [bold red]PLAIN HTTP: unencrypted[/bold red]"
    table.add_row("Server", server)
    table.add_row("Data directory", escape(data["data_dir"]))
    table.add_row("Last collection", _when(data["last_collection_at"]))
    table.add_row("Last delivery", _when(data["last_delivery_at"]))
    table.add_row("Last heartbeat", _when(data["last_heartbeat_at"]))
    depth = data["spool_depth"]
    table.add_row("Spool", f"[yellow]{depth} waiting[/yellow]" if depth else "empty")
    if data["rejected"]:
        table.add_row("Set aside", f"[red]{data['rejected']} refused by the server[/red]")
    if data["next_retry_at"]:
        table.add_row("Next retry", f"{_when(data['next_retry_at'])} (attempt {data['retry_attempts'] + 1})")
    daemon = _when(data["next_run_at"]) if data["daemon_running"] else "[yellow]daemon not running[/yellow]"
    table.add_row("Next collection", daemon)
    if data["reenrol_required"]:
        table.add_row("Action needed", "[bold red]the server refused the key: re-enrol this agent[/bold red]")
    console.print(table)
    if data["errors"]:
        errors = Table(title="Last errors", title_justify="left")
        errors.add_column("When")
        errors.add_column("What", overflow="fold")
        for item in data["errors"][-5:]:
            errors.add_row(_when(item.get("at")), escape(str(item.get("message", ""))))
        console.print(errors)


def run(args: argparse.Namespace) -> int:
    """Print the status; exit 0 when enrolled, 1 when not (so scripts can test it)."""
    import sys

    from agent.config import ConfigError
    from agent.service import status_data

    try:
        data = status_data(settings_from_args(args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        render(data)
    return 0 if data["enrolled"] else 1
