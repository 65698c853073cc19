"""Rich tables of one report, for the person at the PC: age evidence, antivirus, firewall, network, gaps."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from shared.schema import Hardware, InventoryReport

_UNKNOWN = "[dim]unknown[/dim]"


def _firmware(hw: Hardware) -> str:
    """The BIOS date with the vendor and version that tell it, leaving out what is unknown."""
    source = " ".join(part for part in (hw.bios_vendor, hw.bios_version) if part)
    return f"{_text(hw.bios_date)} ({escape(source)})" if source else _text(hw.bios_date)


def _yes_no(value: bool | None, yes: str = "yes", no: str = "no") -> str:
    if value is None:
        return _UNKNOWN
    return f"[green]{yes}[/green]" if value else f"[red]{no}[/red]"


def _text(value: object) -> str:
    # Machine-supplied strings may hold "[...]": escape them so rich prints them instead of styling.
    return _UNKNOWN if value is None or value == "" else escape(str(value))


def _when(value: datetime | None) -> str:
    return _UNKNOWN if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _gib(size: int | None) -> str:
    return _UNKNOWN if size is None else f"{size / 1024**3:.1f} GiB"


def age_table(report: InventoryReport) -> Table:
    """Make, model, serial and the dates that tell how old the machine is."""
    hw, osi = report.hardware, report.os
    table = Table(title="Age evidence", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("Computer", f"{_text(report.hostname)} ({_text(report.platform)}, id {report.machine_id} "
                     f"from {_text(report.machine_id_source)})"),
        ("Make / model", f"{_text(hw.vendor)} / {_text(hw.model)}"),
        ("Serial", _text(hw.serial)),
        ("Chassis", _text(hw.chassis)),
        ("Firmware date", _firmware(hw)),
        ("CPU", f"{_text(hw.cpu_model)} - {_text(hw.cpu_cores)} cores / {_text(hw.cpu_threads)} threads"),
        ("Memory", _gib(hw.ram_bytes)),
        ("Disks", ", ".join(f"{escape(d.model or 'model unknown')}: {_gib(d.size_bytes)} {d.kind}" for d in hw.disks)
         or _UNKNOWN),
        ("OS", f"{_text(osi.name)} {escape(osi.version or '')} (build {_text(osi.build)})"),
        ("OS installed", _text(osi.install_date)),
        ("Last update", _text(osi.last_update_date)),
        ("Last boot", _when(osi.last_boot)),
    ]
    for monitor in report.peripherals.monitors:
        rows.append(("Monitor", f"{_text(monitor.manufacturer)} {_text(monitor.model)}, "
                                f"made {_text(monitor.year_of_manufacture)}, serial {_text(monitor.serial)}"))
    for device in report.peripherals.devices:
        rows.append((device.kind.capitalize(), f"{escape(device.name)} ({device.connection})"))
    for label, value in rows:
        table.add_row(label, value)
    return table


def antivirus_table(report: InventoryReport) -> Table:
    """Every antivirus product, how it was found, and the firewall beneath."""
    table = Table(title="Antivirus and firewall", title_justify="left")
    for column in ("Product", "Protecting", "Signatures current", "Signatures from", "Licence", "Found by"):
        table.add_column(column)
    for av in report.antivirus:
        licence = _UNKNOWN if av.licence_problem is None else (
            "[red]problem[/red]" if av.licence_problem else "[green]ok[/green]")
        table.add_row(escape(av.name + (f" {av.version}" if av.version else "")), _yes_no(av.enabled),
                      _yes_no(av.up_to_date), _when(av.signatures_updated_at), licence, av.source)
    if not report.antivirus:
        table.add_row("[red]none found[/red]", "", "", "", "", "")
    fw = report.firewall
    profiles = ", ".join(
        f"{escape(p.name)} {'on' if p.enabled else 'off' if p.enabled is False else '?'}"
        + ("" if p.active is None else (" (active)" if p.active else " (inactive)"))
        for p in fw.profiles
    )
    table.caption = f"Firewall: {_yes_no(fw.enabled, 'on', 'off')} via {_text(fw.source)}" + (
        f" - {profiles}" if profiles else "")
    return table


def network_table(report: InventoryReport) -> Table:
    """Interfaces, gateway and the connectivity check."""
    net = report.network
    table = Table(title="Network", title_justify="left")
    for column in ("Interface", "Kind", "MAC", "Addresses", "Up"):
        table.add_column(column)
    for nic in net.interfaces:
        table.add_row(escape(nic.name), nic.kind, _text(nic.mac), escape(", ".join([*nic.ipv4, *nic.ipv6])) or "-",
                      _yes_no(nic.is_up))
    check = net.internet
    reach = _yes_no(check.reachable, "reachable", "unreachable")
    latency = f" in {check.latency_ms:.0f} ms" if check.latency_ms is not None else ""
    table.caption = f"Gateway {_text(net.default_gateway)}; connectivity {reach}{latency} ({_text(check.target)})"
    return table


_STATUS = {"active": "[red]active[/red]", "failed": "[red]removal failed[/red]", "remediated": "[green]removed[/green]",
           "allowed": "[yellow]allowed by a person[/yellow]", "unknown": _UNKNOWN}


def detections_table(report: InventoryReport) -> Table:
    """What the antivirus histories say was found, newest first; unknown (never zero) where none could be read."""
    found = report.detections
    table = Table(title="Malware found", title_justify="left")
    for column in ("Detected", "Threat", "Severity", "Status", "Files", "By"):
        table.add_column(column)
    if found is None:
        table.caption = "Detections were not collected"
        return table
    for item in found.items:
        files = ", ".join(item.resources[:2]) + (f" (+{len(item.resources) - 2})" if len(item.resources) > 2 else "")
        table.add_row(_when(item.detected_at), escape(item.threat), item.severity, _STATUS[item.status],
                      escape(files) or "-", item.source)
    read = ", ".join(found.sources) or "none"
    if found.readable:
        summary = f"{len(found.items)} detection(s) in the histories read ({read})"
    else:
        summary = f"[yellow]detections unknown[/yellow]: no readable history of the protecting product (read: {read})"
    if found.truncated:
        summary += f"; only the newest {len(found.items)} are listed"
    if found.unreadable:
        summary += f"; history not readable: {escape(', '.join(found.unreadable))}"
    table.caption = summary
    return table


def errors_table(report: InventoryReport) -> Table:
    """Facts that could not be collected, and why."""
    table = Table(title="Not collected", title_justify="left")
    for column in ("Family", "Reason", "Detail"):
        table.add_column(column)
    for error in report.errors:
        table.add_row(escape(error.collector), escape(error.error), escape(error.detail or ""))
    return table


def print_report(report: InventoryReport, console: Console | None = None) -> None:
    """All tables, gaps last."""
    console = console or Console()
    console.print(age_table(report))
    console.print(antivirus_table(report))
    console.print(network_table(report))
    console.print(detections_table(report))
    if report.errors:
        console.print(errors_table(report))
