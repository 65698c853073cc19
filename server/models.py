"""The database tables (SQLModel) and the few types they share.

Hand-kept records (units, assets, licences) have a current row that the rest of the schema points at, plus
version rows (``*Version``) valid over ``[valid_from, valid_to)`` so a past date can be rebuilt as the
records stood then. Agent facts live in ``Observation`` (append-only, one row per change) and
``ReceivedReport`` (one row per distinct report: idempotency and ``reports_received``).
All timestamps are stored as naive UTC and read back as aware UTC (``UTCDateTime``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from server.clock import utcnow as utcnow  # re-exported: models and services stamp rows with it
from server.vocab import DEVICE_KINDS, IN_USE, INTERNET_LINKS, STATUSES, UNIT_KINDS, describe

#: The stored text of a timestamp on SQLite: fixed width with a four-digit year (``%Y`` drops the zeros of
#: years below 1000 on glibc, and ``fromisoformat`` then refuses the row), so the text sorts as time.
SQLITE_TIMESTAMP = "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"


def sqlite_timestamp(value: datetime) -> str:
    """A naive UTC datetime as SQLite stores it (``SQLITE_TIMESTAMP``)."""
    return SQLITE_TIMESTAMP % {"year": value.year, "month": value.month, "day": value.day, "hour": value.hour,
                               "minute": value.minute, "second": value.second, "microsecond": value.microsecond}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored as naive UTC on every engine, returned as aware UTC (any year 1 to 9999)."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            from sqlalchemy.dialects import sqlite

            return dialect.type_descriptor(sqlite.DATETIME(storage_format=SQLITE_TIMESTAMP))  # type: ignore[no-untyped-call]
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # naive values in this code base are already UTC
            return value
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _ts(nullable: bool = True, **kw: Any) -> Any:
    """A UTC timestamp field."""
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, **kw)


# --- organisation -----------------------------------------------------------------------------------------


class UnitFacts(SQLModel):
    """The hand-kept facts of an organisational unit (shared by the current row and its versions)."""

    name: str = Field(max_length=256)
    kind: str = Field(max_length=16, description=describe(UNIT_KINDS))
    parent_id: int | None = Field(default=None, foreign_key="org_unit.id")
    staff: int | None = Field(default=None, ge=0)
    lan: bool | None = None
    wifi: bool | None = None
    wan: bool | None = None
    internet: str | None = Field(default=None, max_length=8, description=describe(INTERNET_LINKS))
    one_stop_shop: bool = False


class OrgUnit(UnitFacts, table=True):
    """An organisational unit: the district, a department, a commune or town, a school."""

    __tablename__ = "org_unit"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)
    updated_at: datetime | None = _ts()


class OrgUnitVersion(UnitFacts, table=True):
    """A unit's facts as they stood over ``[valid_from, valid_to)``."""

    __tablename__ = "org_unit_version"
    __table_args__ = (sa.Index("ix_org_unit_version_span", "valid_from", "valid_to"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="org_unit.id", index=True)
    valid_from: datetime = _ts(nullable=False)
    valid_to: datetime | None = _ts()


# --- devices ----------------------------------------------------------------------------------------------


class DeviceFacts(SQLModel):
    """The hand-kept facts of a physical asset."""

    unit_id: int = Field(foreign_key="org_unit.id")
    kind: str = Field(max_length=16, description=describe(DEVICE_KINDS))
    name: str | None = Field(default=None, max_length=256)
    vendor: str | None = Field(default=None, max_length=512)
    model: str | None = Field(default=None, max_length=512)
    serial: str | None = Field(default=None, max_length=512)
    purchased_on: date | None = None
    status: str = Field(default=IN_USE, max_length=8, description=describe(STATUSES))
    air_gapped: bool = Field(default=False, description="Processes classified documents: must stay offline")
    notes: str | None = Field(default=None, max_length=2000, description="The officer's free-text notes")


class Device(DeviceFacts, table=True):
    """One physical asset, reported by an agent or entered by hand. Agent columns hold the latest state."""

    __tablename__ = "device"
    __table_args__ = (sa.Index("ix_device_unit", "unit_id"), sa.Index("ix_device_edid_key", "edid_key", unique=True))
    id: int | None = Field(default=None, primary_key=True)
    # Unique so that two processes seeing a new machine at once cannot both create it.
    machine_id: str | None = Field(default=None, max_length=128, unique=True)
    serial_key: str | None = Field(default=None, max_length=512, index=True, description="Normalised serial")
    hostname: str | None = Field(default=None, max_length=512)
    first_seen: datetime | None = _ts()
    last_seen: datetime | None = _ts()
    reports_received: int = 0
    earliest_bios_date: date | None = None
    last_observed_at: datetime | None = _ts(description="collected_at of the latest Observation")
    last_hash: str | None = Field(default=None, max_length=64, description="Content hash of that Observation")
    # Monitors (kind "monitor"): their identity, unique so that two processes cannot create one monitor twice.
    edid_key: str | None = Field(default=None, max_length=768,
                                 description="Monitor identity: EDID manufacturer|serial, or host-based without serial")
    # Computers: the monitors their latest observation showed, so that an unchanged set needs no lookup.
    monitor_key: str | None = Field(default=None, max_length=64, description="Hash of the attached monitors' keys")
    monitor_ids: str | None = Field(default=None, max_length=256, description="Their device ids, comma separated")
    # A hand-entered asset of another unit with this computer's serial: shown to the officer, never merged.
    possible_duplicate_of: int | None = Field(default=None, foreign_key="device.id",
                                              description="Another unit's hand-entered asset with the same serial")
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class DeviceVersion(DeviceFacts, table=True):
    """A device's hand-kept facts as they stood over ``[valid_from, valid_to)``."""

    __tablename__ = "device_version"
    __table_args__ = (sa.Index("ix_device_version_span", "valid_from", "valid_to"),)
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    valid_from: datetime = _ts(nullable=False)
    valid_to: datetime | None = _ts()


class Observation(SQLModel, table=True):
    """What one report said about a device, stored only when it differs from the previous one."""

    __tablename__ = "observation"
    __table_args__ = (sa.Index("ix_observation_device_time", "device_id", "observed_at"),)
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id")
    observed_at: datetime = _ts(nullable=False, description="The report's collected_at")
    received_at: datetime = _ts(nullable=False)
    report_id: uuid.UUID
    delivered_offline: bool = False
    content_hash: str = Field(max_length=64)
    hostname: str | None = Field(default=None, max_length=512)
    platform: str | None = Field(default=None, max_length=16)
    chassis: str | None = Field(default=None, max_length=16)
    vendor: str | None = Field(default=None, max_length=512)
    model: str | None = Field(default=None, max_length=512)
    serial: str | None = Field(default=None, max_length=512)
    cpu_model: str | None = Field(default=None, max_length=512)
    bios_date: date | None = None
    os_name: str | None = Field(default=None, max_length=512)
    os_version: str | None = Field(default=None, max_length=128)
    os_build: str | None = Field(default=None, max_length=128)
    os_install_date: date | None = None
    monitor_year: int | None = None
    firewall_enabled: bool | None = None
    internet_reachable: bool | None = None
    lan_evidence: bool | None = Field(default=None, description="An up ethernet interface with IPv4 and a gateway")
    wifi_evidence: bool | None = Field(default=None, description="An up Wi-Fi interface")
    antivirus: str = Field(default="[]", sa_type=sa.Text, description="JSON list of AntivirusState fields")
    clock_wrong: bool = Field(default=False, description="The PC's clock was wrong: filed at receipt time")
    claimed_collected_at: str | None = Field(default=None, max_length=40,
                                             description="The collected_at the PC claimed, when its clock was wrong")
    detections_readable: bool | None = Field(
        default=None, description="An antivirus history was read (None: the report did not collect detections)")
    facts: str = Field(sa_type=sa.Text, description="The normalised report JSON behind the columns")


class MonitorSighting(SQLModel, table=True):
    """A monitor shown by an observation of its computer: one row per monitor of every stored observation.

    A monitor is attached to a computer as long as that computer's latest observation lists it, so the
    monitors of any past date follow from the observations, late reports included.
    """

    __tablename__ = "monitor_sighting"
    __table_args__ = (sa.Index("ix_monitor_sighting_monitor_time", "monitor_id", "observed_at"),)
    id: int | None = Field(default=None, primary_key=True)
    observation_id: int = Field(foreign_key="observation.id", index=True)
    host_id: int = Field(foreign_key="device.id", description="The computer that reported the monitor")
    monitor_id: int = Field(foreign_key="device.id")
    observed_at: datetime = _ts(nullable=False, description="The observation's observed_at")
    year: int | None = Field(default=None, description="EDID year of manufacture as reported")


class ReceivedReport(SQLModel, table=True):
    """Every distinct report received: de-duplication by ``report_id`` and the ``reports_received`` count."""

    __tablename__ = "received_report"
    __table_args__ = (sa.Index("ix_received_report_device_time", "device_id", "collected_at"),)
    id: int | None = Field(default=None, primary_key=True)
    report_id: uuid.UUID = Field(unique=True)
    device_id: int = Field(foreign_key="device.id")
    agent_id: uuid.UUID | None = Field(default=None, foreign_key="agent.id")
    collected_at: datetime = _ts(nullable=False)
    received_at: datetime = _ts(nullable=False)
    via: str = Field(max_length=8, description="http or import")
    signed: bool = True
    imported_by: str | None = Field(default=None, max_length=128)
    stored: bool = Field(default=False, description="This report added an Observation")
    claimed_collected_at: str | None = Field(default=None, max_length=40,
                                             description="The PC's own collected_at when it was not believed")


class Detection(SQLModel, table=True):
    """One malware detection on one device, stored once however many reports repeat it.

    Its state over time is in ``DetectionEvent`` (one row per change), so any past date can be rebuilt.
    """

    __tablename__ = "detection"
    __table_args__ = (sa.UniqueConstraint("device_id", "key", name="uq_detection_device_key"),)
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    key: str = Field(max_length=128, description="The agent's stable id of the detection on this machine")
    threat: str = Field(max_length=512)
    category: str | None = Field(default=None, max_length=128)
    severity: str = Field(default="unknown", max_length=16)
    source: str = Field(max_length=16, description="defender, clamav, xprotect, mrt or other")
    product: str | None = Field(default=None, max_length=128)
    resources: str = Field(default="[]", sa_type=sa.Text, description="JSON list of affected files")
    detected_at: datetime | None = _ts(description="When the product first detected it, as the PC said")
    first_reported_at: datetime = _ts(nullable=False, description="Filed time of the first report showing it")
    status: str = Field(default="unknown", max_length=16, description="Its latest status (see DetectionEvent)")
    status_since: datetime = _ts(nullable=False, description="Filed time of the report that gave the latest status")


class DetectionEvent(SQLModel, table=True):
    """A detection's status as one report stated it, stored only when it changed."""

    __tablename__ = "detection_event"
    __table_args__ = (sa.Index("ix_detection_event_detection_time", "detection_id", "observed_at"),)
    id: int | None = Field(default=None, primary_key=True)
    detection_id: int = Field(foreign_key="detection.id")
    observed_at: datetime = _ts(nullable=False, description="The report's filed time")
    report_id: uuid.UUID
    status: str = Field(max_length=16, description="active, remediated, failed, allowed or unknown")
    action: str | None = Field(default=None, max_length=128)
    action_success: bool | None = None
    remediated_at: datetime | None = _ts(description="When the product says the action completed")


# --- licences ---------------------------------------------------------------------------------------------


class LicenceFacts(SQLModel):
    """An antivirus licence purchase."""

    product: str = Field(max_length=256)
    seats: int = Field(ge=0)
    valid_from: date | None = None
    valid_to: date | None = None
    unit_id: int | None = Field(default=None, foreign_key="org_unit.id", description="None: the whole tree")


class AntivirusLicence(LicenceFacts, table=True):
    """An antivirus licence: seats of a product, valid between two dates, for a unit or everyone."""

    __tablename__ = "antivirus_licence"
    id: int | None = Field(default=None, primary_key=True)
    updated_at: datetime | None = _ts()


class AntivirusLicenceVersion(LicenceFacts, table=True):
    """A licence as it stood over ``[recorded_from, recorded_to)``."""

    __tablename__ = "antivirus_licence_version"
    id: int | None = Field(default=None, primary_key=True)
    licence_id: int = Field(foreign_key="antivirus_licence.id", index=True)
    recorded_from: datetime = _ts(nullable=False)
    recorded_to: datetime | None = _ts()


# --- agents, enrolment, people ----------------------------------------------------------------------------


class Agent(SQLModel, table=True):
    """An enrolled agent and its credentials (the key is stored only as a hash)."""

    __tablename__ = "agent"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    unit_id: int = Field(foreign_key="org_unit.id", index=True)
    device_id: int | None = Field(default=None, foreign_key="device.id", index=True)
    machine_id: str | None = Field(default=None, max_length=128)
    hostname: str | None = Field(default=None, max_length=512)
    key_hash: str = Field(max_length=64)
    public_key: str | None = Field(default=None, max_length=256)
    offline: bool = Field(default=False, description="Enrolled by file for an air-gapped PC")
    created_at: datetime = _ts(nullable=False)
    revoked_at: datetime | None = _ts()
    last_seen: datetime | None = _ts()


class EnrolmentToken(SQLModel, table=True):
    """A unit's enrolment token (hashed), traded by agents for their own key until it expires."""

    __tablename__ = "enrolment_token"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    unit_id: int = Field(foreign_key="org_unit.id", index=True)
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False)
    created_by: str | None = Field(default=None, max_length=128)
    uses: int = 0
    max_uses: int | None = None
    revoked_at: datetime | None = _ts()


class User(SQLModel, table=True):
    """A person who signs in to the console; ``unit_id`` limits what they see (None: everything)."""

    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=128, unique=True)
    password_hash: str = Field(max_length=256)
    role: str = Field(default="viewer", max_length=16, description="admin, officer or viewer")
    unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    disabled: bool = False
    created_at: datetime = _ts(nullable=False)
    # Alert e-mail (migration 0007): the digest goes to ``email`` in ``lang``, covering alerts opened since
    # ``digest_sent_at``.
    email: str | None = Field(default=None, max_length=320, description="Where the alert digest goes; None: none")
    lang: str = Field(default="vi", max_length=8, description="vi or en: the language of the user's e-mail")
    digest_sent_at: datetime | None = _ts(description="Alerts opened up to this instant were in a digest")


class ApiToken(SQLModel, table=True):
    """A personal token for the read API: acts as its user (role and unit scope), stored only as a hash."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    name: str = Field(max_length=128, description="What the token is for, as its creator named it")
    token_hash: str = Field(max_length=64, unique=True, description="SHA-256 of the secret, hex")
    created_at: datetime = _ts(nullable=False)
    created_by: str = Field(max_length=128)
    expires_at: datetime = _ts(nullable=False)
    last_used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
    revoked_by: str | None = Field(default=None, max_length=128)


class SheetUpload(SQLModel, table=True):
    """A sheet uploaded on the console's import page, kept between its preview and its commit (then deleted)."""

    __tablename__ = "sheet_upload"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, description="SHA-256 of the upload's random token")
    username: str = Field(max_length=128, description="Who uploaded it: only they may commit it")
    kind: str = Field(max_length=16, description="units, assets or licences")
    file_name: str = Field(max_length=256)
    sha256: str = Field(max_length=64, description="Of the content, checked again before the commit")
    content: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False)


class ShownSecret(SQLModel, table=True):
    """A new secret (API or enrolment token, password) waiting to be shown once on the page a form redirects to.

    Kept sealed (AES-GCM) under a key derived from a random reference that only the creator's browser holds;
    looked up by the reference's SHA-256; deleted when shown or, unseen, after a few minutes.
    """

    __tablename__ = "shown_secret"
    id: int | None = Field(default=None, primary_key=True)
    ref_hash: str = Field(max_length=64, unique=True, description="SHA-256 of the browser's reference, hex")
    user_id: int = Field(foreign_key="app_user.id", description="Who created it: only they are shown it")
    purpose: str = Field(max_length=32, description="Which page shows it: api_token, enrolment_token, password")
    sealed: bytes = Field(sa_type=sa.LargeBinary, description="Nonce and AES-GCM ciphertext of the JSON")
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False)


class LoginFailure(SQLModel, table=True):
    """A failed console sign-in; kept for the throttling window so that every server process counts the same."""

    __tablename__ = "login_failure"
    __table_args__ = (sa.Index("ix_login_failure_username_at", "username", "at"),
                      sa.Index("ix_login_failure_address_at", "address", "at"))

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(nullable=False, index=True)
    address: str = Field(max_length=64, description="The client's address (after trusted proxies)")
    username: str = Field(max_length=128, description="The name tried, case-folded")


class AuditLog(SQLModel, table=True):
    """Who did what, when: imports, enrolments, token creation, hand edits."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_action_actor_at", "action", "actor", "at"),)  # last sign-out of a user
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(nullable=False, index=True)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64, index=True)
    detail: str = Field(default="{}", sa_type=sa.Text, description="JSON detail")


class ReportSnapshot(SQLModel, table=True):
    """A report as generated for a cut-off date and kept for later reading."""

    __tablename__ = "report_snapshot"
    __table_args__ = (sa.Index("ix_report_snapshot_as_of", "as_of", "unit_code"),)
    id: int | None = Field(default=None, primary_key=True)
    as_of: date = Field(description="Cut-off date the figures describe (end of that day)")
    period: str = Field(max_length=128, description="Period label printed in the title")
    unit_code: str | None = Field(default=None, max_length=64, description="Root unit of the scope; None: all")
    lang: str = Field(max_length=8, description="vi or en")
    trigger: str = Field(default="manual", max_length=16, description="schedule or manual")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    corrected_after: datetime | None = Field(default=None, sa_type=UTCDateTime,
                                             description="Inputs for the date were corrected after it")
    markdown: str = Field(sa_type=sa.Text, description="The report in Markdown")
    json_text: str = Field(sa_type=sa.Text, description="The report as JSON (figures and text)")
    docx: bytes = Field(sa_type=sa.LargeBinary, description="The report as a Word document")


class Alert(SQLModel, table=True):
    """Something an officer must act on: a rule that fired for a device (or a register licence).

    ``open`` until acknowledged (by whom, when, a comment) or resolved when an evaluation finds it fixed. At
    most one alert per ``key`` (rule, device, subject) is not resolved: a partial unique index keeps it so
    across replicas; a re-occurrence after resolution opens a new row.
    """

    __tablename__ = "alert"
    __table_args__ = (
        sa.Index("uq_alert_live_key", "key", unique=True, sqlite_where=sa.text("state != 'resolved'"),
                 postgresql_where=sa.text("state != 'resolved'")),
        sa.Index("ix_alert_state_opened", "state", "opened_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=400, description="rule|device id or -|subject")
    rule: str = Field(max_length=32, index=True)
    device_id: int | None = Field(default=None, foreign_key="device.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="org_unit.id", description="None: district-wide")
    subject: str = Field(default="", max_length=256, description="What within the device: a product, a detection")
    detail: str = Field(default="{}", sa_type=sa.Text, description="JSON facts when it opened")
    state: str = Field(default="open", max_length=16, description="open, acknowledged or resolved")
    opened_at: datetime = _ts(nullable=False)
    acknowledged_by: str | None = Field(default=None, max_length=128)
    acknowledged_at: datetime | None = _ts()
    ack_comment: str | None = Field(default=None, max_length=1000)
    resolved_at: datetime | None = _ts()


class JobRun(SQLModel, table=True):
    """A claim to run a scheduled job for one date: the unique key is what makes one replica the runner."""

    __tablename__ = "job_run"
    __table_args__ = (sa.UniqueConstraint("job", "run_date", name="uq_job_run_job_date"),)
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64)
    run_date: date
    runner: str = Field(max_length=128, description="Host and process that claimed the run")
    status: str = Field(default="running", max_length=16, description="running, done or failed")
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    detail: str | None = Field(default=None, sa_type=sa.Text)


metadata = SQLModel.metadata


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table behind a table model, for set-based queries."""
    return cast(sa.Table, sa.inspect(model).local_table)
