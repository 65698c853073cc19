"""The command line stays light: listing the sub-commands loads no HTTP client, scheduler or rich."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("requests", "urllib3", "apscheduler", "rich", "cryptography")


def test_building_the_parser_loads_no_heavy_module() -> None:
    code = (
        "import sys; from agent.cli import build_parser; build_parser(); "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_service_modules_do_not_import_the_server() -> None:
    code = (
        "import sys, agent.service, agent.scheduler, agent.transport, agent.spool, agent.config; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'server'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
