"""Where raw facts come from: a live machine or a captured folder, behind one small interface.

Every probe output has a name (``Win32_BIOS.json``, ``dmi/bios_date``, ``host.json``). The live sources of
each OS produce the bytes by reading files or running commands; the replay source reads the same names from
a folder written by ``kiemke-agent capture``. Parsers only ever see the bytes, so a Windows parser runs on
Linux in tests exactly as it does on the PC.
"""

from __future__ import annotations

from typing import Protocol

from shared.schema import CollectorError


class ProbeError(Exception):
    """A source could not be read: ``error`` is the machine-readable reason, ``detail`` says what and why."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.error = error
        self.detail = detail


class Source(Protocol):
    """Raw outputs of one machine, by name."""

    platform: str
    live: bool

    def read_bytes(self, name: str) -> bytes:
        """The raw output called ``name``; raises ``ProbeError`` when it cannot be had."""
        ...

    def names(self, prefix: str) -> list[str]:
        """Names present under ``prefix`` (for families with a variable number of files, e.g. monitors)."""
        ...


class Errors:
    """The report's ``errors``: one entry per fact family and reason, in the order they happened."""

    def __init__(self) -> None:
        self.items: list[CollectorError] = []
        self._seen: set[tuple[str, str, str | None]] = set()

    def add(self, collector: str, error: str, detail: str | None = None) -> None:
        """Record that ``collector`` failed with ``error``; the same failure twice is kept once."""
        key = (collector, error, detail)
        if key not in self._seen:
            self._seen.add(key)
            self.items.append(CollectorError(collector=collector, error=error, detail=(detail or "")[:4096] or None))

    def text(self, src: Source, name: str, collector: str) -> str | None:
        """The decoded output ``name``, or None with the reason recorded against ``collector``."""
        try:
            return decode(src.read_bytes(name))
        except ProbeError as exc:
            self.add(collector, exc.error, exc.detail)
            return None

    def optional_text(self, src: Source, name: str, collector: str) -> str | None:
        """Like ``text`` for sources that only refine facts: their absence is not worth an entry."""
        try:
            return decode(src.read_bytes(name))
        except ProbeError as exc:
            if exc.error != "not_found":
                self.add(collector, exc.error, exc.detail)
            return None

    def parsed(self, collector: str, name: str, exc: Exception) -> None:
        """Record that the output ``name`` could not be parsed."""
        self.add(collector, "parse_error", f"{name}: {exc}")


def decode(data: bytes) -> str:
    """Text from bytes as Windows and Unix tools write them: UTF-8 with or without BOM, UTF-16 LE/BE."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    # PowerShell's "Out-File -Encoding Unicode" without BOM still shows as ASCII with NUL every other byte.
    if len(data) >= 4 and data[1:4:2] == b"\x00\x00" and data[0:4:2] != b"\x00\x00":
        return data.decode("utf-16-le", errors="replace")
    return data.decode("utf-8", errors="replace")


class LiveBase:
    """Base of the live sources: each output is produced once per collection, so all families see the same."""

    def __init__(self) -> None:
        self._cache: dict[str, bytes | ProbeError] = {}

    def _read(self, name: str) -> bytes:
        raise NotImplementedError

    def read_bytes(self, name: str) -> bytes:
        """The raw output ``name``, produced on first use."""
        if name not in self._cache:
            try:
                self._cache[name] = self._read(name)
            except ProbeError as exc:
                self._cache[name] = exc
        value = self._cache[name]
        if isinstance(value, ProbeError):
            raise value
        return value
