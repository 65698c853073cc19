"""The tables a person sees name the antivirus, the age evidence, the network and the gaps."""

from __future__ import annotations

from rich.console import Console

from agent.render import print_report

from .helpers import replay


def _rendered(folder: str) -> str:
    console = Console(record=True, width=160)
    print_report(replay(folder), console)
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


def test_machine_strings_are_printed_not_styled() -> None:
    """A BIOS, product or interface name holding rich markup is shown as text, not read as styles."""
    from datetime import datetime, timezone
    from io import StringIO

    from rich.console import Console

    from agent.render import print_report
    from shared.schema import AntivirusProduct, Hardware, InventoryReport, Network, NetworkInterface

    report = InventoryReport(
        machine_id="m", collected_at=datetime(2024, 5, 18, tzinfo=timezone.utc),
        hardware=Hardware(bios_vendor="[red]Evil[/red]", bios_version="1.0", model="[bold]X[/bold]"),
        antivirus=[AntivirusProduct(name="[blink]AV[/blink]", source="installed_program")],
        network=Network(interfaces=[NetworkInterface(name="[link=http://x]eth0[/link]", kind="ethernet")]),
    )
    out = StringIO()
    print_report(report, Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    for raw in ("[red]Evil[/red]", "[bold]X[/bold]", "[blink]AV[/blink]", "[link=http://x]eth0[/link]"):
        assert raw in text
