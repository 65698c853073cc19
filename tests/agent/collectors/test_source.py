"""Text decoding and the error recorder."""

from __future__ import annotations

import pytest

from agent.collectors._source import Errors, LiveBase, ProbeError, decode


@pytest.mark.parametrize("data", [
    b'{"a": "\xc4\x91"}',
    b'\xef\xbb\xbf{"a": "\xc4\x91"}',
    "\ufeff{\"a\": \"đ\"}".encode("utf-16-le"),
    "\ufeff{\"a\": \"đ\"}".encode("utf-16-be"),
    '{"a": "đ"}'.encode("utf-16-le"),
])
def test_decode_reads_utf8_and_utf16(data: bytes) -> None:
    assert decode(data) == '{"a": "đ"}'


class _Fixed:
    platform = "linux"
    live = False

    def read_bytes(self, name: str) -> bytes:
        if name == "there":
            return b"hello"
        raise ProbeError("permission_denied", f"{name} is root only")

    def names(self, prefix: str) -> list[str]:
        return []


def test_errors_record_once_and_optional_skips_not_found() -> None:
    errors = Errors()
    assert errors.text(_Fixed(), "there", "hardware") == "hello"
    assert errors.text(_Fixed(), "secret", "hardware") is None
    assert errors.text(_Fixed(), "secret", "hardware") is None
    assert [(e.collector, e.error) for e in errors.items] == [("hardware", "permission_denied")]
    errors.parsed("os", "os-release", ValueError("bad"))
    assert errors.items[-1].error == "parse_error" and "os-release" in (errors.items[-1].detail or "")


class _Counting(LiveBase):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def _read(self, name: str) -> bytes:
        self.calls += 1
        if name == "bad":
            raise ProbeError("timeout", "slow")
        return name.encode()


def test_live_sources_produce_each_output_once() -> None:
    src = _Counting()
    assert src.read_bytes("a") == src.read_bytes("a") == b"a"
    for _ in range(2):
        with pytest.raises(ProbeError):
            src.read_bytes("bad")
    assert src.calls == 2
