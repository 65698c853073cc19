"""The tables a person sees name the antivirus, the age evidence, the network and the gaps."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from agent.collect import collect_report
from agent.render import print_report

REPLAY = Path(__file__).resolve().parents[1] / "data" / "replay"


def _rendered(folder: str) -> str:
    console = Console(record=True, width=160)
    print_report(collect_report(replay=REPLAY / folder), console)
    return console.export_text()


def test_tables_show_the_facts() -> None:
    text = _rendered("windows-server-kaspersky")
    for expected in ("Age evidence", "2019-03-15", "ProLiant DL360 Gen10", "Microsoft Defender Antivirus",
                     "Kaspersky Endpoint Security for Windows", "service", "Firewall: on", "Not collected",
                     "Invalid namespace"):
        assert expected in text, expected


def test_unknowns_and_monitors_are_shown() -> None:
    text = _rendered("linux-office-desktop")
    assert "DELL P2419H" in text and "made 2019" in text and "Canon_MF3010" in text
    assert "unknown" in text and "reachable" in text
    assert "none found" in _rendered("linux-qemu-vm")
