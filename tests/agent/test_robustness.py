"""Whatever a machine prints, replay makes a valid report: no family ever fails with an internal error."""

from __future__ import annotations

import json
import plistlib
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.collect import collect_report
from agent.collectors import _linux, _macos, _windows
from agent.collectors._common import decode, parse_edid, parse_when

_scalars = (st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False)
            | st.text(max_size=20) | st.text(min_size=600, max_size=700))  # longer than the contract allows
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["Name", "displayName", "productState", "Enabled", "ChassisTypes", "ReleaseDate", "MediaType",
                     "NetworkCategory", "State", "DisplayName", "value", "Count", "timestamp", "Size",
                     "UserFriendlyName", "YearOfManufacture", "InstalledOn", "AntivirusSignatureAge", "ProductStatus",
                     "interfaces", "ipv4", "mac", "machine_name", "number_processors", "spdisplays_ndrvs",
                     "SPHardwareDataType", "SPSoftwareDataType", "SPDisplaysDataType", "modified", "sectors",
                     "ThreatID", "ThreatName", "DetectionID", "ThreatStatusID", "CategoryID", "SeverityID",
                     "Resources", "InitialDetectionTime", "RemediationTime", "CleaningActionID", "ActionSuccess",
                     "IsActive", "files", "unreadable", "utc_offset_minutes"]),
    inner, max_size=5), max_leaves=12)
_content = (_json.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=64) | st.text(max_size=40).map(str.encode)
            | st.text(min_size=600, max_size=700).map(str.encode)
            | st.binary(max_size=40).map(lambda b: b'<?xml version="1.0"?><plist><dict><key>' + b))

_NAMES = {
    "windows": _windows.source_names(_windows.LiveSource(timeout=1)),
    "linux": [n for n in _linux.source_names(_linux.LiveSource(root=Path("/nonexistent"))) if not n.startswith("drm/")],
    "darwin": _macos.source_names(_macos.LiveSource()),
}


def _replay(platform: str, contents: dict[str, bytes]) -> list[tuple[str, str | None]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "platform").write_text(platform)
        for name, data in contents.items():
            path = folder / platform / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        report = collect_report(replay=folder)
    return [(e.collector, e.detail) for e in report.errors if e.error == "internal_error"]


def _strategy(platform: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=dict.fromkeys(_NAMES[platform], _content))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_strategy("windows"))
def test_windows_replay_survives_any_output(contents: dict[str, bytes]) -> None:
    assert _replay("windows", contents) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_strategy("linux"))
def test_linux_replay_survives_any_output(contents: dict[str, bytes]) -> None:
    assert _replay("linux", contents) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_strategy("darwin"))
def test_macos_replay_survives_any_output(contents: dict[str, bytes]) -> None:
    assert _replay("darwin", contents) == []


@given(st.binary(max_size=300))
def test_byte_parsers_never_raise(data: bytes) -> None:
    decode(data)
    parse_edid(data, "drm-edid")
    parse_edid(b"\x00\xff\xff\xff\xff\xff\xff\x00" + data.ljust(120, b"\x00"), "drm-edid")


@given(_json)
def test_dates_never_raise(value: Any) -> None:
    parse_when(value)


def _keys(module: object) -> list[str]:
    """Every key a parser module reads with ``.get("...")``."""
    import inspect
    import re

    return sorted(set(re.findall(r'\.get\("([^"]+)"', inspect.getsource(module))))  # type: ignore[arg-type]


def test_oversized_values_everywhere_still_make_a_report() -> None:
    from agent.collectors import _common

    long = "x" * 700
    modules = (_windows, _macos, _common, _linux)
    everything: dict[str, Any] = dict.fromkeys([key for module in modules for key in _keys(module)], long)
    everything["interfaces"] = [{"name": long, "mac": long, "ipv4": [long], "ipv6": [long]}]
    document = json.dumps(everything).encode()
    for platform, names in _NAMES.items():
        contents = {name: document for name in names}
        if platform == "darwin":
            contents.update({f"{t}.json": json.dumps({t: [everything]}).encode() for t in _macos.DATA_TYPES})
            contents["XProtect-Info.plist"] = plistlib.dumps({"CFBundleShortVersionString": long})
        if platform == "linux":
            contents.update({name: (long + "\n").encode() for name in names if not name.endswith(".json")})
            contents["lpstat-v"] = f"device for {long}: usb://{long}\n".encode()
        assert _replay(platform, contents) == [], platform
