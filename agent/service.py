"""What the agent does, independent of how it is started: enrol, collect and deliver, export, report status.

The command line (``agent/commands``), the daemon (``agent/scheduler.py``) and the Windows service all call
these functions. Every collection or delivery holds the agent lock, so none runs twice at once; the state
that ``status`` shows (``state.json``) is written only under that lock, and the daemon's own schedule goes
to ``schedule.json``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent import __version__
from agent.config import AgentSettings, atomic_write, ensure_private_dir
from agent.spool import AgentLock, Spool, SpoolWriteError, fault_point
from agent.transport import Delivery, Outcome, Transport, check_server_url, plain_http_warning

if TYPE_CHECKING:
    from shared.schema import InventoryReport

log = logging.getLogger("kiemke.agent")

SCHEDULE_FILE = "schedule.json"
ERRORS_KEPT = 20
REENROL_MESSAGE = "the server refused the agent key (revoked or unknown): re-enrol with `kiemke-agent enroll`"


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(timezone.utc)


def _iso(moment: datetime | None = None) -> str:
    return (moment or utcnow()).isoformat(timespec="seconds")


@dataclass
class AgentState:
    """What the agent last did; ``state.json``."""

    last_collection_at: str | None = None
    last_delivery_at: str | None = None
    last_attempt_at: str | None = None
    last_heartbeat_at: str | None = None
    last_export_at: str | None = None
    reenrol_required: bool = False
    errors: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> AgentState:
        """The saved state; a fresh one when absent or unreadable."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(raw, dict):
            return cls()
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        try:
            return cls(**known)
        except TypeError:
            return cls()

    def save(self, path: Path) -> None:
        """Persist atomically."""
        atomic_write(path, json.dumps(asdict(self), indent=2).encode("utf-8"))

    def note_error(self, message: str) -> None:
        """Remember an error for ``status``; only the latest few are kept."""
        self.errors.append({"at": _iso(), "message": message[:500]})
        del self.errors[:-ERRORS_KEPT]


# --- identity and enrolment ---------------------------------------------------------------------------------


def machine_identity(settings: AgentSettings) -> str:
    """This PC's stable id, exactly as its reports will carry it: taken from a collection.

    Should no report be possible at all (unsupported OS), the id generated and kept in the data directory.
    """
    from agent.collect import CollectError
    from agent.identity import generated_id

    try:
        return collect_new_report(settings).machine_id
    except CollectError as exc:
        log.warning("no collection possible (%s): enrolling with a generated machine id", exc)
    return generated_id(settings.data_dir) or str(uuid.uuid4())


def _install_ca(settings: AgentSettings, ca_file: str | None) -> str | None:
    """Copy the CA bundle into the data directory: the USB stick it came on will be gone tomorrow."""
    if not ca_file:
        return None
    source = Path(ca_file)
    if not source.is_file():
        raise FileNotFoundError(f"CA bundle {ca_file} does not exist")
    ensure_private_dir(settings.data_dir)
    target = settings.data_dir / "ca.pem"
    if source.resolve() != target.resolve():
        shutil.copyfile(source, target)
    return str(target)


def _clear_reenrol(settings: AgentSettings) -> None:
    state = AgentState.load(settings.state_path)
    state.reenrol_required = False
    state.errors = []
    state.save(settings.state_path)
    Spool(settings.spool_dir).record_success()


def enroll_online(
    settings: AgentSettings, server_url: str, token: str, ca_file: str | None = None, allow_http: bool = False
) -> AgentSettings:
    """Trade the unit's enrolment token for this agent's key and save it; raises EnrolmentError on refusal."""
    from shared.bundle import new_signing_key
    from shared.protocol import EnrollRequest

    url = check_server_url(server_url, allow_http)
    ensure_private_dir(settings.data_dir)
    with AgentLock(settings.lock_path):
        ca_path = _install_ca(settings, ca_file)
        machine_id = machine_identity(settings)
        private_key, public_key = new_signing_key()
        request = EnrollRequest(
            token=token, machine_id=machine_id, hostname=socket.gethostname()[:512] or None, public_key=public_key
        )
        with Transport(
            url, None, ca_bundle=ca_path, allow_http=allow_http,
            connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
        ) as transport:
            answer = transport.enroll(request)
        settings.server_url = url
        settings.ca_bundle = ca_path
        settings.allow_http = allow_http
        settings.agent_id = answer.agent_id
        settings.agent_key = answer.agent_key
        settings.private_key = private_key
        settings.unit_code = answer.unit_code
        settings.device_name = None
        settings.offline = False
        settings.enrolled_at = utcnow()
        if answer.report_interval_seconds:
            settings.interval_seconds = answer.report_interval_seconds
        settings.save()
        _clear_reenrol(settings)
    return settings


def enroll_offline(settings: AgentSettings, enrolment_file: Path) -> AgentSettings:
    """Install an offline enrolment file made by ``kiemke-server enrol-offline``: reports leave by export."""
    from shared.bundle import OFFLINE_ENROLMENT_FORMAT, OfflineEnrolment, public_key_of

    enrolment = OfflineEnrolment.model_validate_json(enrolment_file.read_bytes())
    if enrolment.format != OFFLINE_ENROLMENT_FORMAT:
        raise ValueError(f"{enrolment_file} is not a kiemke offline enrolment file")
    public_key_of(enrolment.private_key)  # refuses a damaged key now rather than at the first export
    ensure_private_dir(settings.data_dir)
    with AgentLock(settings.lock_path):
        settings.server_url = None
        settings.ca_bundle = None
        settings.allow_http = False
        settings.agent_id = enrolment.agent_id
        settings.agent_key = enrolment.agent_key
        settings.private_key = enrolment.private_key
        settings.unit_code = enrolment.unit_code
        settings.device_name = enrolment.device_name
        settings.offline = True
        settings.enrolled_at = utcnow()
        settings.save()
        _clear_reenrol(settings)
    return settings


# --- collection and delivery --------------------------------------------------------------------------------


def collect_new_report(settings: AgentSettings) -> InventoryReport:
    """One collection of this PC, with the connectivity check aimed at the server when there is one."""
    from agent.collect import collect_report

    targets = [settings.server_url] if settings.server_url else []
    replay = Path(settings.replay) if settings.replay else None
    report: InventoryReport = collect_report(replay=replay, targets=targets, data_dir=settings.data_dir)
    return report


def open_spool(settings: AgentSettings) -> Spool:
    """The spool with the configured bounds."""
    return Spool(settings.spool_dir, settings.spool_max_reports, settings.spool_max_bytes)


def open_transport(settings: AgentSettings) -> Transport:
    """A transport with this agent's key; only for an enrolled, online agent."""
    if not settings.server_url or not settings.agent_key:
        raise RuntimeError("the agent is not enrolled with a server")
    return Transport(
        settings.server_url, settings.agent_key, ca_bundle=settings.ca_bundle, allow_http=settings.allow_http,
        connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
    )


@dataclass
class DeliveryRound:
    """What one pass over the spool achieved."""

    delivered: int = 0
    duplicates: int = 0
    set_aside: int = 0
    waiting: int = 0
    stopped_by: Delivery | None = None
    delivered_ids: list[str] = field(default_factory=list)


def deliver_pending(settings: AgentSettings, spool: Spool, state: AgentState) -> DeliveryRound:
    """Send waiting reports oldest first, one try each; stop at the first failure that is not the report's.

    Call with the agent lock held. A retryable failure backs the spool off; 401/403 flags re-enrolment.
    """
    result = DeliveryRound()
    if not settings.server_url or not settings.agent_key:
        result.waiting = spool.depth()
        return result
    pending = spool.pending()
    if pending:
        state.last_attempt_at = _iso()
    with open_transport(settings) as transport:
        for path in pending:
            try:
                body = path.read_bytes()
            except OSError as exc:
                spool.set_aside(path, f"unreadable on disk: {exc}")
                state.note_error(f"report {path.name} unreadable on disk, set aside: {exc}")
                result.set_aside += 1
                continue
            delivery = transport.post_report(body)
            # The server may now hold a report the spool still holds: a kill here must not duplicate it.
            fault_point("after_send", spool.root)
            if delivery.arrived:
                spool.remove(path)
                result.delivered_ids.append(path.stem.split("-", 1)[-1])
                if delivery.outcome is Outcome.DUPLICATE:
                    result.duplicates += 1
                else:
                    result.delivered += 1
                state.last_delivery_at = _iso()
                state.reenrol_required = False
            elif delivery.outcome is Outcome.SET_ASIDE:
                spool.set_aside(path, delivery.detail)
                state.note_error(f"report {path.name} refused and set aside: {delivery.detail}")
                result.set_aside += 1
            else:
                result.stopped_by = delivery
                break
    stop = result.stopped_by
    if stop is None:
        spool.record_success()
    elif stop.outcome is Outcome.REENROL:
        state.reenrol_required = True
        state.note_error(f"{REENROL_MESSAGE} ({stop.detail})")
    else:
        retry = spool.record_failure(stop.detail, settings.retry_base_seconds, settings.retry_max_seconds)
        when = datetime.fromtimestamp(retry.next_attempt_at or time.time(), timezone.utc)
        state.note_error(f"not delivered ({stop.detail}); next try after {_iso(when)}")
    result.waiting = spool.depth()
    return result


@dataclass
class ReportSummary:
    """The outcome of ``report``: the new report's id, and where every report stands now."""

    report_id: str | None
    new_report_delivered: bool
    round: DeliveryRound
    dropped: int = 0


def report_once(settings: AgentSettings, *, send: bool = True, lock_wait: float = 0.0) -> ReportSummary:
    """Collect once, spool it, then send the spool oldest first (the new report last).

    Raises SpoolWriteError when the report could neither be written to disk nor sent at once (a full disk with
    the server away), CollectError when no report could be made, LockBusy when another run still holds the lock
    after ``lock_wait`` seconds. Anything else (server away, refusals) leaves the report safely spooled.
    """
    from agent.collect import CollectError

    ensure_private_dir(settings.data_dir)
    with AgentLock(settings.lock_path, wait=lock_wait):
        spool = open_spool(settings)
        spool.clean_orphans(elsewhere=(settings.data_dir,))
        state = AgentState.load(settings.state_path)
        try:
            report = collect_new_report(settings)
        except CollectError as exc:
            # Nothing new to spool, but what waits can still go: deliver it, then let the caller say why.
            state.note_error(f"collection failed: {exc}")
            if send and settings.server_url:
                deliver_pending(settings, spool, state)
            state.save(settings.state_path)
            raise
        report_id = str(report.report_id)
        state.last_collection_at = _iso()
        body = report.model_dump_json().encode("utf-8")
        try:
            _path, dropped = spool.put(report_id, body)
        except SpoolWriteError as exc:
            state.note_error(str(exc))
            summary = _send_unspooled(settings, spool, state, report_id, body) if send else None
            # The disk that refused the report may refuse the state too; the exception says it all.
            with contextlib.suppress(OSError):
                state.save(settings.state_path)
            if summary is None:
                raise
            return summary
        if dropped:
            state.note_error(f"spool full: dropped {len(dropped)} oldest report(s) that never reached the server")
        summary = ReportSummary(report_id, False, DeliveryRound(waiting=spool.depth()), dropped=len(dropped))
        if send and settings.server_url:
            summary.round = deliver_pending(settings, spool, state)
            summary.new_report_delivered = report_id in summary.round.delivered_ids
        state.save(settings.state_path)
    return summary


def _send_unspooled(settings: AgentSettings, spool: Spool, state: AgentState, report_id: str,
                    body: bytes) -> ReportSummary | None:
    """A full disk refused the new report: send the waiting ones, then this one straight from memory.

    The report is lost only if the server does not take it now too (None: the caller raises).
    """
    if not settings.server_url or not settings.agent_key:
        return None
    waiting = deliver_pending(settings, spool, state)
    with open_transport(settings) as transport:
        delivery = transport.post_report(body)
    if not delivery.arrived:
        return None
    log.warning("the spool could not be written (disk full?): report %s was sent straight away", report_id)
    waiting.delivered_ids.append(report_id)
    return ReportSummary(report_id, True, waiting)


def retry_pending(settings: AgentSettings, *, ignore_backoff: bool = False) -> DeliveryRound | None:
    """The daemon's retry pass: deliver the spool when a retry is due; None when there was nothing to do."""
    spool = open_spool(settings)
    if not settings.server_url or not (ignore_backoff or spool.retry_due()):
        return None
    with AgentLock(settings.lock_path):
        state = AgentState.load(settings.state_path)
        if state.reenrol_required and not ignore_backoff:
            return None
        spool.clean_orphans(elsewhere=(settings.data_dir,))
        result = deliver_pending(settings, spool, state)
        state.save(settings.state_path)
    return result


def send_heartbeat(settings: AgentSettings) -> Delivery | None:
    """A cheap sign of life between collections; None when offline. Call with the agent lock held."""
    if not settings.server_url or not settings.agent_key:
        return None
    payload: dict[str, Any] = {"agent_version": __version__, "spool_depth": open_spool(settings).depth()}
    with open_transport(settings) as transport:
        delivery = transport.heartbeat(payload)
    state = AgentState.load(settings.state_path)
    if delivery.arrived:
        state.last_heartbeat_at = _iso()
        state.reenrol_required = False
    elif delivery.outcome is Outcome.REENROL:
        if not state.reenrol_required:
            state.note_error(f"{REENROL_MESSAGE} ({delivery.detail})")
        state.reenrol_required = True
    state.save(settings.state_path)
    return delivery


# --- air-gapped export --------------------------------------------------------------------------------------


def export_bundle(settings: AgentSettings, out_dir: Path, *, collect_first: bool = True) -> tuple[Path, int]:
    """Write the spool's reports as one signed bundle in ``out_dir`` and take them out of the spool.

    With ``collect_first`` a fresh collection joins the bundle, so a visit to the PC always carries its
    current state. Returns the bundle's path and how many reports it holds.
    """
    from agent.collect import CollectError
    from shared.bundle import make_bundle

    if settings.agent_id is None or not settings.private_key:
        raise RuntimeError("the agent has no signing key: enrol it first (`kiemke-agent enroll --offline FILE`)")
    out_dir.mkdir(parents=True, exist_ok=True)
    with AgentLock(settings.lock_path):
        spool = open_spool(settings)
        spool.clean_orphans(elsewhere=(settings.data_dir,))
        state = AgentState.load(settings.state_path)
        if collect_first:
            try:
                report = collect_new_report(settings)
            except CollectError as exc:
                state.note_error(f"collection failed: {exc}")  # what the spool holds still goes
            else:
                state.last_collection_at = _iso()
                spool.put(str(report.report_id), report.model_dump_json().encode("utf-8"))
        exported: list[Path] = []
        reports: list[dict[str, Any]] = []
        for path in spool.pending():
            try:
                reports.append(json.loads(path.read_bytes()))
            except (OSError, ValueError) as exc:
                spool.set_aside(path, f"unreadable on disk: {exc}")
                continue
            exported.append(path)
        if not reports:
            raise RuntimeError("nothing to export: the spool is empty")
        bundle = make_bundle(settings.agent_id, reports, settings.private_key)
        name = settings.device_name or socket.gethostname() or str(settings.agent_id)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60]
        target = out_dir / f"kiemke-{safe}-{utcnow().strftime('%Y%m%dT%H%M%SZ')}.json"
        atomic_write(target, json.dumps(bundle, ensure_ascii=False).encode("utf-8"))
        # The bundle is made to travel and be read by the officer's account on the server: not owner-only.
        with contextlib.suppress(OSError):
            os.chmod(target, 0o644)
        # Only once the bundle is on the stick do the reports leave the spool.
        for path in exported:
            spool.remove(path)
        state.last_export_at = _iso()
        state.save(settings.state_path)
    return target, len(reports)


# --- status -------------------------------------------------------------------------------------------------


def write_schedule(settings: AgentSettings, next_run_at: datetime | None) -> None:
    """The daemon's next collection time, for ``status`` (its own file: it is written without the lock)."""
    data = {"next_run_at": _iso(next_run_at) if next_run_at else None, "pid": os.getpid(), "updated_at": _iso()}
    atomic_write(settings.data_dir / SCHEDULE_FILE, json.dumps(data).encode("utf-8"))


def _daemon_alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        import psutil
    except ImportError:  # pragma: no cover - the agent extra installs it
        return True
    return bool(psutil.pid_exists(pid))


def status_data(settings: AgentSettings) -> dict[str, Any]:
    """Everything ``status`` shows, as JSON-ready values."""
    state = AgentState.load(settings.state_path)
    spool = open_spool(settings)
    retry = spool.load_retry()
    try:
        schedule = json.loads((settings.data_dir / SCHEDULE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        schedule = {}
    alive = _daemon_alive(schedule.get("pid"))
    return {
        "enrolled": settings.enrolled,
        "server": settings.server_url,
        "offline": settings.offline,
        "plain_http": bool(settings.server_url and plain_http_warning(settings.server_url)),
        "agent_id": str(settings.agent_id) if settings.agent_id else None,
        "unit_code": settings.unit_code,
        "device_name": settings.device_name,
        "data_dir": str(settings.data_dir),
        "agent_version": __version__,
        "spool_depth": spool.depth(),
        "rejected": len(spool.rejected()),
        "last_collection_at": state.last_collection_at,
        "last_delivery_at": state.last_delivery_at,
        "last_heartbeat_at": state.last_heartbeat_at,
        "last_export_at": state.last_export_at,
        "daemon_running": alive,
        "next_run_at": schedule.get("next_run_at") if alive else None,
        "retry_attempts": retry.attempts,
        "next_retry_at": (
            _iso(datetime.fromtimestamp(retry.next_attempt_at, timezone.utc)) if retry.next_attempt_at else None
        ),
        "reenrol_required": state.reenrol_required,
        "interval_seconds": settings.interval_seconds,
        "errors": state.errors,
    }

