"""``kiemke-server simulate``: a fleet of simulated agents enrolling and reporting over the real HTTP API.

Tokens: ``--token TOKEN`` (repeatable; machines are spread over the tokens) enrols through the server like
real agents, from any host. Without ``--token``, run on the server's host: the command creates one-day
tokens for ``--units`` (default: every unit) in the configured database (``DATABASE_URL`` or
``KIEMKE_DATA_DIR``), as ``kiemke-server token create`` would. Machines already in the state file keep their
keys and need no token.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.commands._common import add_json

if TYPE_CHECKING:
    from server.simulate.runner import Simulator
    from server.simulate.tally import Summary


def register(sub: Any) -> None:
    """Add the ``simulate`` sub-command."""
    parser = sub.add_parser("simulate", help="simulated agents enrolling and reporting to a server (load, demos)")
    parser.add_argument("--server", required=True, metavar="URL", help="the server's base URL, e.g. https://host")
    parser.add_argument("--agents", type=int, required=True, metavar="N", help="how many simulated machines")
    parser.add_argument("--interval", type=float, default=60.0, metavar="S",
                        help="seconds between two reports of one machine (default 60; 0: once each, at once)")
    parser.add_argument("--duration", type=float, metavar="S",
                        help="seconds of reporting (default: one interval, so each machine reports once)")
    parser.add_argument("--units", metavar="CODES",
                        help="comma-separated unit codes to create tokens for (without --token; default all units)")
    parser.add_argument("--token", action="append", default=[], metavar="TOKEN",
                        help="an enrolment token (repeat for several units)")
    parser.add_argument("--ca", type=Path, metavar="FILE", help="CA certificate that signed the server's (PEM)")
    parser.add_argument("--state", type=Path, metavar="FILE",
                        help="the machines' identities and keys (default <KIEMKE_DATA_DIR>/simulator.json)")
    parser.add_argument("--workers", type=int, default=16, help="concurrent requests (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="which simulated fleet (default 0)")
    add_json(parser)
    parser.set_defaults(handler=run)


def _local_tokens(units: str | None) -> list[str]:
    """One-day tokens for ``units`` (every unit when None), created in the configured database."""
    from sqlmodel import select

    from server.commands._common import open_db
    from server.db import writing
    from server.models import OrgUnit
    from server.services.enrolment import create_token
    from server.services.records import os_user

    engine = open_db()
    try:
        with writing(engine) as session:
            codes = [c.strip() for c in units.split(",") if c.strip()] if units else \
                list(session.exec(select(OrgUnit.code).order_by(OrgUnit.code)))
            return [create_token(session, code, days=1, actor=f"simulate:{os_user()}")[0] for code in codes]
    finally:
        engine.dispose()


def run(args: argparse.Namespace) -> int:
    """Enrol what is new, report for the duration, print the summary (or JSON)."""
    from dataclasses import asdict

    from server.commands._common import fail, print_json
    from server.config import Settings
    from server.services.enrolment import EnrolmentError
    from server.simulate import state as state_file
    from server.simulate.runner import Plan, Simulator

    if args.agents < 1 or args.workers < 1 or args.interval < 0 or (args.duration is not None and args.duration < 0):
        return fail("--agents and --workers must be at least 1; --interval and --duration not negative")
    if not args.server.startswith(("http://", "https://")):
        return fail("--server must be an http:// or https:// URL")
    if args.ca is not None and not args.ca.is_file():
        return fail(f"{args.ca}: no such CA file")
    path: Path = args.state or Settings.from_env().data_dir / "simulator.json"
    try:
        state = state_file.load(path, args.server, args.seed)
    except state_file.StateFileError as exc:
        return fail(str(exc))
    state.grow(args.agents)
    agents = state.agents[: args.agents]
    tokens: list[str] = args.token
    if any(a.agent_key is None for a in agents) and not tokens:
        try:
            tokens = _local_tokens(args.units)
        except EnrolmentError as exc:
            return fail(str(exc))
        if not tokens:
            return fail("no units to enrol into: pass --token TOKEN, or import units first")
    if any(len(t) < 8 for t in tokens):
        return fail("an enrolment token is too short: copy it whole from `kiemke-server token create`")
    plan = Plan(interval=args.interval, duration=args.duration, workers=args.workers)
    simulator = Simulator(args.server, agents, plan, ca=args.ca, seed=args.seed)
    try:
        summary = _with_progress(simulator, tokens, quiet=args.json)
    finally:
        state_file.save(path, state)
    if args.json:
        print_json(asdict(summary))
    else:
        _print_summary(summary)
    return 0 if summary.refused == 0 and summary.errors == 0 and summary.enrolment_refused == 0 else 1


def _with_progress(simulator: Simulator, tokens: list[str], *, quiet: bool) -> Summary:
    """Enrol and run with a live progress display on stderr (none with --json)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    agents = len(simulator.agents)
    expected = sum(1 for a in simulator.agents if not a.state.retired) * simulator.plan.rounds()
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[detail]}", markup=False))
    with Progress(*columns, console=console, disable=quiet, transient=False) as bar:
        to_enrol = sum(1 for a in simulator.agents if a.agent_key is None)
        enrolling = bar.add_task("enrolling", total=to_enrol or 1, detail="", visible=to_enrol > 0)

        def on_enrol(c: dict[str, int]) -> None:
            bar.update(enrolling, completed=c["enrolled"] + c["enrolment_refused"],
                       detail=f"refused {c['enrolment_refused']}")

        simulator.enrol(tokens, on_enrol)
        reporting = bar.add_task(f"reporting ({agents} machines)", total=expected or 1, detail="")

        def on_report(c: dict[str, int]) -> None:
            bar.update(reporting, completed=min(expected, c["accepted"] + c["refused"] + c["offline"]
                                                 + c["errors"] + c["duplicate"] - c["resent"]),
                       detail=f"accepted {c['accepted']}  duplicate {c['duplicate']}  refused {c['refused']}  "
                              f"errors {c['errors']}")

        return simulator.run(on_report)


def _print_summary(summary: Summary) -> None:
    from rich.console import Console
    from rich.table import Table

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} ms"

    table = Table(title=f"{summary.agents} simulated machines, {summary.seconds:.1f} s")
    table.add_column("")
    table.add_column("", justify="right")
    for label, value in (
        ("enrolled now", summary.enrolled), ("enrolment refused", summary.enrolment_refused),
        ("reports sent", summary.sent), ("accepted", summary.accepted), ("duplicate", summary.duplicate),
        ("refused", summary.refused), ("no answer / 5xx (kept)", summary.errors),
        ("skipped while switched off", summary.offline), ("machines retired", summary.retired),
        ("throughput", f"{summary.throughput:.1f} reports/s"), ("latency p50", ms(summary.p50_ms)),
        ("latency p95", ms(summary.p95_ms)), ("latency p99", ms(summary.p99_ms)),
    ):
        table.add_row(label, str(value))
    Console(markup=False).print(table)
    if summary.refused_by_status:
        print("refused by status: " + ", ".join(f"{k}: {v}" for k, v in summary.refused_by_status.items()))
