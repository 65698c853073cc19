"""A 50 MB assets spreadsheet: time and peak memory of ``import_assets`` against a plain CSV read of the file.

    .venv/bin/python bench/import_sheet.py [--megabytes 50] [--out FILE]

The CSV has the columns of ``kiemke-server assets import`` (unit, kind, name, vendor, model, serial,
purchased_on, status, air_gapped), Vietnamese names, one row in 200 bad (an unknown kind or a 0001-01-01
purchase date), every row with its own serial. Each phase runs in its own child process, and its peak RSS is
read from the kernel (``ru_maxrss`` of that child):

- ``baseline``: ``csv.reader`` over the file, counting rows, with the server's modules imported (so the
  interpreter and library memory is the same on both sides);
- ``import``: a migrated empty database with three units, then ``import_assets`` of the file, as the command
  runs it.

Targets (issue 8): peak RSS <= 200 MB; time bounded (it was over 300 s and 700 MB before streaming).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADER = "unit,kind,name,vendor,model,serial,purchased_on,status,air_gapped\n"
UNITS = ("code,name,kind,parent\nPH,UBND huyện,district,\nXA01,UBND xã Tân Long,commune,PH\n"
         "TH01,Trường TH Hòa An,school,XA01\n")
KINDS = ("desktop", "laptop", "printer", "scanner", "monitor")
VENDORS = (("Dell", "OptiPlex 7090"), ("HP", "ProDesk 400 G7"), ("Lenovo", "ThinkCentre M70s"), ("Canon", "LBP2900"))


def write_sheet(path: Path, megabytes: int) -> int:
    """A CSV of at least ``megabytes`` MB; returns its number of data rows."""
    rng = random.Random(8)
    target = megabytes * 1_000_000
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        size = len(HEADER)
        while size < target:
            rows += 1
            vendor, model = VENDORS[rows % len(VENDORS)]
            kind = "fax" if rows % 400 == 0 else KINDS[rows % len(KINDS)]
            bought = "0001-01-01" if rows % 400 == 200 else f"{rng.randint(2005, 2025)}-{rng.randint(1, 12):02}-15"
            line = (f"{('PH', 'XA01', 'TH01')[rows % 3]},{kind},Máy tính phòng một cửa số {rows},{vendor},{model},"
                    f"SN{rows:09d},{bought},in_use,không\n")
            fh.write(line)
            size += len(line.encode())
    return rows


def child_baseline(path: Path) -> None:
    """Read the CSV as plainly as Python can, with the server's modules loaded."""
    import csv

    import server.services.spreadsheets  # noqa: F401 - same libraries in memory as the import

    with path.open(encoding="utf-8", newline="") as fh:
        count = sum(1 for _ in csv.reader(fh))
    print(count)


def child_import(path: Path, url: str, units: Path) -> None:
    """Import the sheet into a fresh database, as ``kiemke-server assets import`` does."""
    from server.db import open_database
    from server.services.spreadsheets import import_assets, import_units

    engine = open_database(url)
    import_units(engine, units, "bench")
    started = time.perf_counter()
    result = import_assets(engine, path, "bench")
    print(f"{result.created} {result.refused} {time.perf_counter() - started:.2f}")
    engine.dispose()


def measure(args: list[str]) -> tuple[float, float, str]:
    """Run a child and read its own peak RSS (the kernel's record of that process alone)."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, __file__, "--child", *args])  # noqa: S606 - no shell wanted
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"child {args[0]} failed with status {status}")
    return elapsed, usage.ru_maxrss / 1024, ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help="append the result as Markdown")
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "baseline":
            child_baseline(Path(rest[0]))
        else:
            child_import(Path(rest[0]), rest[1], Path(rest[2]))
        return

    with tempfile.TemporaryDirectory(prefix="kiemke-bench-") as tmp:
        sheet, units = Path(tmp) / "assets.csv", Path(tmp) / "units.csv"
        units.write_text(UNITS, encoding="utf-8")
        rows = write_sheet(sheet, args.megabytes)
        size = sheet.stat().st_size / 1e6
        url = f"sqlite:///{Path(tmp) / 'kiemke.db'}"
        print(f"{size:.1f} MB, {rows} rows, SQLite")
        base_time, base_rss, _ = measure(["baseline", str(sheet)])
        time_, rss, _ = measure(["import", str(sheet), url, str(units)])
        lines = [
            "| phase | wall time | peak RSS |",
            "|---|---|---|",
            f"| baseline: csv.reader over the file | {base_time:.1f} s | {base_rss:.0f} MB |",
            f"| import_assets | {time_:.1f} s | {rss:.0f} MB |",
            f"| ratio | {time_ / base_time:.1f}x | {rss / base_rss:.2f}x |",
        ]
        print("\n".join(lines))
        print(f"peak RSS target <= 200 MB: {'met' if rss <= 200 else 'MISSED'}")
        if args.out:
            with args.out.open("a", encoding="utf-8") as fh:
                fh.write(f"\n{size:.1f} MB, {rows} rows, SQLite, load {os.getloadavg()[0]:.1f}\n\n")
                fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
