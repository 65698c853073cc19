"""The service definitions in deploy/ call the agent with options it has, and keep their hardening.

They cannot run here (no Windows, no launchd, no systemd as PID 1), so what can be checked is checked:
every command line they hold parses with the agent's own parser.
"""

from __future__ import annotations

import ast
import configparser
import plistlib
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import build_parser

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "systemd" / name, encoding="utf-8")
    return parser


def test_systemd_agent_unit_runs_the_daemon_hardened() -> None:
    unit = _unit("kiemke-agent.service")
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("kiemke-agent")
    args = build_parser().parse_args(argv[1:])
    assert args.command == "run" and args.data_dir == "/var/lib/kiemke-agent"
    assert service["StateDirectory"] == "kiemke-agent"
    for key, value in {"DynamicUser": "yes", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
                       "ProtectHome": "yes", "PrivateTmp": "yes", "UMask": "0077"}.items():
        assert service[key] == value, key
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_server_unit_is_hardened_and_listens_on_loopback() -> None:
    service = _unit("kiemke-server.service")["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[1:4] == ["serve", "--host", "127.0.0.1"]
    assert service["User"] == "kiemke" and service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes" and service["StateDirectory"] == "kiemke-server"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("name", ["kiemke-agent.service", "kiemke-server.service"])
def test_systemd_units_verify(name: str, tmp_path: Path) -> None:
    # The program is not installed here; point ExecStart at one that exists so only the unit is judged.
    text = (DEPLOY / "systemd" / name).read_text(encoding="utf-8")
    unit = tmp_path / name
    unit.write_text(re.sub(r"/opt/kiemke/bin/kiemke-\w+", "/bin/true", text), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_launchd_plist_runs_the_daemon() -> None:
    with open(DEPLOY / "macos" / "vn.kiemke.agent.plist", "rb") as handle:
        plist = plistlib.load(handle)
    assert plist["Label"] == "vn.kiemke.agent" and plist["RunAtLoad"] is True
    args = build_parser().parse_args(plist["ProgramArguments"][1:])
    assert args.command == "run" and args.data_dir == "/Library/Application Support/kiemke"


def _agent_options() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    options: set[str] = set()
    for child in sub.choices.values():  # type: ignore[union-attr]
        for action in child._actions:
            options.update(o for o in action.option_strings if o.startswith("--"))
    return options


def test_install_script_uses_only_real_agent_options() -> None:
    script = (DEPLOY / "windows" / "install-agent.ps1").read_text(encoding="utf-8")
    used = set(re.findall(r"'(--[a-z-]+)'", script)) | set(re.findall(r" (--[a-z-]+)", script))
    assert {"--server", "--token", "--offline", "--windows-service", "--data-dir"} <= used
    assert used <= _agent_options()
    # The service command line, as the script builds it, is one the agent accepts.
    args = build_parser().parse_args(["run", "--windows-service", "--data-dir", r"C:\ProgramData\kiemke"])
    assert args.windows_service and args.command == "run"
    assert "-RunAsAdministrator" in script or "IsInRole" in script
    assert "delayed-auto" in script and "sc.exe failure" in script


def test_pyinstaller_spec_builds_the_agent_and_its_service() -> None:
    spec = (DEPLOY / "windows" / "kiemke-agent.spec").read_text(encoding="utf-8")
    ast.parse(spec)
    assert '"agent" / "__main__.py"' in spec and (DEPLOY.parent / "agent" / "__main__.py").is_file()
    for needed in ('collect_submodules("agent")', '"win32timezone"', "upx=False", '"server"'):
        assert needed in spec


@pytest.mark.skipif(sys.platform == "win32", reason="checks the refusal outside Windows")
def test_windows_service_module_refuses_other_systems() -> None:
    with pytest.raises(ImportError, match="Windows only"):
        import agent.winservice  # noqa: F401
