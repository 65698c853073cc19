"""The Windows service: pywin32's ServiceFramework around the same daemon ``kiemke-agent run`` starts.

Windows only. ``install-agent.ps1`` registers the frozen ``kiemke-agent.exe run --windows-service`` with the
service control manager; the SCM starts it as LocalSystem, and ``dispatch`` hands the process over to it.
Stopping the service stops the scheduler; a collection child still running finishes on its own under the lock.
"""

from __future__ import annotations

import sys

if sys.platform != "win32":
    raise ImportError("agent.winservice runs on Windows only; use `kiemke-agent run` elsewhere")

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import servicemanager
import win32service
import win32serviceutil

from agent.config import AgentSettings, ConfigError, configure_logging, resolve_data_dir

if TYPE_CHECKING:
    from agent.scheduler import Daemon

SERVICE_NAME = "kiemke-agent"
log = logging.getLogger("kiemke.agent")


class KiemkeAgentService(win32serviceutil.ServiceFramework):
    """The agent daemon as a Windows service."""

    _svc_name_ = SERVICE_NAME
    _svc_display_name_ = "kiemke inventory agent"
    _svc_description_ = "Reports this PC's hardware, antivirus and firewall state to the kiemke server."
    data_dir: Path | None = None

    def __init__(self, args: list[str]) -> None:
        super().__init__(args)
        self._stopping = threading.Event()
        self._daemon: Daemon | None = None

    def SvcStop(self) -> None:  # pywin32 calls it by this name
        """The SCM asks us to stop."""
        self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING)
        self._stopping.set()
        daemon = self._daemon
        if daemon is not None:
            daemon.stop()

    def SvcDoRun(self) -> None:  # pywin32 calls it by this name
        """The SCM started us: run the daemon until SvcStop."""
        from agent.scheduler import Daemon

        try:
            settings = AgentSettings.load(resolve_data_dir(self.data_dir))
        except ConfigError as exc:
            servicemanager.LogErrorMsg(f"kiemke-agent: {exc}")
            return
        configure_logging(logging.INFO, settings.data_dir / "agent.log")
        if not settings.enrolled:
            servicemanager.LogErrorMsg(f"kiemke-agent is not enrolled ({settings.config_path}); run enroll first")
            return
        servicemanager.LogInfoMsg(f"kiemke-agent started; data in {settings.data_dir}")
        daemon = Daemon(settings)
        self._daemon = daemon
        if not self._stopping.is_set():  # a stop that came while we were loading wins
            daemon.start()
        servicemanager.LogInfoMsg("kiemke-agent stopped")


def dispatch(data_dir: str | None = None) -> int:
    """Hand this process to the service control manager (blocks until the service stops)."""
    KiemkeAgentService.data_dir = Path(data_dir) if data_dir else None
    servicemanager.Initialize()
    servicemanager.PrepareToHostSingle(KiemkeAgentService)
    servicemanager.StartServiceCtrlDispatcher()
    return 0
