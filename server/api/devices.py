"""``GET /api/v1/devices`` and ``/api/v1/devices/{id}``: the inventory list and one device, for other systems.

The list takes the console's filters under the same names (``figure``, ``issue``, ``q``, ``kind``, ``status``,
``os``, ``av``, ``age``, ``unseen``, ``air_gapped``, ``subunits``, ``sort``, ``dir``) and narrows with the same
code (``services.device_filter``), so it holds exactly the devices the console's list and exports hold. Unlike
the console it refuses values it does not know (422), since a script should learn of its mistake.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, Field

from server.api.deps import EngineDep, SettingsDep
from server.api.responses import errors
from server.api.scoped import (
    AsOfQ,
    Page,
    PageQ,
    SizeQ,
    UnitQ,
    cut_off,
    page_bounds,
    scoped_figures,
    shared_cache,
    unit_param,
)
from server.api.tokens import ReachDep
from server.bounds import MAX_ID
from server.clock import end_of_day
from server.db import reading
from server.report.writer import UNIT_FIGURES
from server.services.addresses import devices_with_address
from server.services.device_filter import AGE_BANDS, ISSUE_FILTERS, DeviceQuery
from server.services.device_index import index_of, select
from server.services.figure import Assessment
from server.services.state import COMPUTER_KINDS, DeviceKind, DeviceState, DeviceStatus

router = APIRouter(prefix="/api/v1", tags=["read"])

AgeBand = Literal["0-3", "3-5", "5-8", "8+", "unknown"]
Sort = Literal["unit", "kind", "name", "age", "last_seen", "reports"]
assert set(AgeBand.__args__) == {*AGE_BANDS, "unknown"}  # type: ignore[attr-defined]


class AntivirusPublic(BaseModel):
    """One antivirus product as the device's latest report (as of the date) described it."""

    name: str
    enabled: bool | None
    up_to_date: bool | None
    signatures_updated_at: datetime | None
    source: str = Field(description="Where the state was read (security_center, defender, clamav, ...)")
    licence_expires: date | None = Field(description="The product's own licence end, when it says")
    licence_type: str | None = Field(description="commercial, trial, free or unknown, when the product says")


class DevicePublic(BaseModel):
    """A device as of the date: its record, its latest report's main facts, and what the policies conclude."""

    id: int
    name: str | None = Field(description="The hand-kept name, else the host name")
    hostname: str | None
    unit: str = Field(description="Code of the device's unit")
    unit_name: str | None
    kind: DeviceKind
    status: DeviceStatus
    vendor: str | None
    model: str | None
    serial: str | None
    air_gapped: bool = Field(description="Processes classified documents: must stay offline")
    purchased_on: date | None
    notes: str | None = Field(description="The officer's notes")
    os_name: str | None
    os_version: str | None
    os_build: str | None
    cpu_model: str | None
    antivirus: list[str] = Field(description="Names of the antivirus products reported")
    in_service_date: date | None = Field(description="The date its age is counted from")
    age_years: float | None
    age_source: str = Field(description="purchase_record, firmware, os_install, cpu_generation, edid or unknown")
    age_estimated: bool
    past_service_life: bool
    issues: list[str] = Field(description="Compliance problems, most serious first")
    last_seen: datetime | None = Field(description="Latest report received (computers)")
    reports_received: int
    has_agent: bool
    possible_duplicate_of: int | None = Field(description="Another device with this computer's serial, to check")


class DeviceDetail(DevicePublic):
    """One device with the rest of its latest report's facts."""

    as_of: date
    first_seen: datetime | None
    antivirus_products: list[AntivirusPublic]
    firewall_enabled: bool | None
    internet_reachable: bool | None
    bios_date: date | None
    earliest_bios_date: date | None
    os_install_date: date | None
    delivered_offline: bool = Field(description="Its latest report came by file (air-gapped PC)")
    clock_wrong: bool = Field(description="Its latest report's clock was wrong (filed at receipt)")
    attached_to: int | None = Field(description="Monitors: the computer whose latest report shows it")


class DevicesPage(Page):
    """One page of the filtered device list."""

    data: list[DevicePublic]


def _public(d: DeviceState, a: Assessment, unit_names: dict[str, str]) -> dict[str, object]:
    return {
        "id": d.id, "name": d.name or d.hostname, "hostname": d.hostname, "unit": d.unit_code,
        "unit_name": unit_names.get(d.unit_code), "kind": d.kind, "status": d.status, "vendor": d.vendor,
        "model": d.model, "serial": d.serial, "air_gapped": d.air_gapped, "purchased_on": d.purchased_on,
        "notes": d.notes, "os_name": d.os_name, "os_version": d.os_version, "os_build": d.os_build,
        "cpu_model": d.cpu_model,
        "antivirus": [p.name for p in d.antivirus], "in_service_date": a.in_service_date,
        "age_years": a.age_years, "age_source": a.age_source, "age_estimated": a.age_estimated,
        "past_service_life": a.past_service_life, "issues": list(a.issues), "last_seen": d.last_seen,
        "reports_received": d.reports_received, "has_agent": d.has_agent,
        "possible_duplicate_of": d.possible_duplicate_of,
    }


Issues = Annotated[list[str], Query(max_length=64, description="A compliance issue, 'past_service_life' or 'any' "
                                                               "(repeatable: every one must hold)")]


@router.get("/devices", summary="The devices of a scope as of a date, filtered like the console's list",
            responses=errors(401, 403, 404, 422))
async def list_devices(
    request: Request, engine: EngineDep, settings: SettingsDep, reach: ReachDep,
    as_of: AsOfQ = None, unit: UnitQ = None,
    figure: Annotated[str | None, Query(max_length=64, description="Only the devices a figure counts")] = None,
    issue: Issues = [],  # noqa: B006 (FastAPI copies list defaults)
    q: Annotated[str | None, Query(max_length=200, description="Search (case and Vietnamese marks ignored) in "
                                                               "name, unit, serial, model, OS, antivirus, notes, "
                                                               "IP or MAC address")] = None,
    kind: DeviceKind | None = None, status_: Annotated[DeviceStatus | None, Query(alias="status")] = None,
    os: Annotated[str | None, Query(max_length=100, description="Part of the OS name and version")] = None,
    av: Annotated[str | None, Query(max_length=100, description="An antivirus product's name")] = None,
    age: Annotated[AgeBand | None, Query(description="Age band in years")] = None,
    unseen: Annotated[int | None, Query(ge=1, le=3650, description="Computers not seen for this many days")] = None,
    air_gapped: bool | None = None,
    subunits: Annotated[bool, Query(description="false: the unit itself without its sub-units")] = True,
    sort: Sort | None = None, dir: Literal["asc", "desc"] = "asc", page: PageQ = 1, size: SizeQ = 100,
) -> DevicesPage:
    """The list the console shows for the same filters (its default order: most serious problems first)."""
    day = cut_off(as_of, settings)
    scope = reach.scope(unit_param(unit))
    unknown = [i for i in issue if i not in ISSUE_FILTERS]
    if unknown:
        raise HTTPException(422,
                            f"issue: unknown {unknown[0]!r}; one of {', '.join(ISSUE_FILTERS)}")
    found = await scoped_figures(engine, settings, day, scope, shared_cache(request))
    snapshot, coverage = found.snapshot, found.coverage
    if figure is not None and (figure not in coverage.figures or figure.partition(":")[0] in UNIT_FIGURES):
        raise HTTPException(422,
                            f"figure: {figure!r} is not a figure that lists devices")
    names = {u.code: u.name for u in snapshot.units}
    addressed: set[int] = set()
    if q:
        with reading(engine) as session:
            addressed = devices_with_address(session, q, end_of_day(day, settings.tz))
    query = DeviceQuery(kind=kind, status=status_, os=(os or "").strip() or None, av=(av or "").strip() or None,
                        age=age, issues=tuple(dict.fromkeys(issue)), unseen=unseen, air_gapped=air_gapped,
                        own_only=not subunits, sort=sort, desc=dir == "desc")
    # The console's own index of the scope (kept with the cached figures): the same devices in the same order as
    # ``device_filter.narrow(select_devices(...))``, without a pass over the fleet per request.
    selection = select(index_of(found), query, figure=figure, search=q or None, unit_names=names, unit=scope,
                       as_of=day, tz=settings.tz, addressed=addressed)
    pages, start, end = page_bounds(selection.count, page, size)
    rows = [DevicePublic.model_validate(_public(d, coverage.assessments[d.id], names))
            for d in selection.page(start, end)]
    return DevicesPage(as_of=day, unit=scope, count=selection.count, page=page, size=size, pages=pages, data=rows)


@router.get("/devices/{device_id}", summary="One device as of a date", responses=errors(401, 403, 404, 422))
async def get_device(
    request: Request, engine: EngineDep, settings: SettingsDep, reach: ReachDep,
    device_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The device's id")], as_of: AsOfQ = None,
) -> DeviceDetail:
    """The device if it is in the token's scope on that date; out of reach it reads as unknown (404)."""
    day = cut_off(as_of, settings)
    computed = await scoped_figures(engine, settings, day, reach.caller.unit_code, shared_cache(request))
    snapshot, coverage = computed.snapshot, computed.coverage
    found = computed.by_id.get(device_id)  # kept with the cached figures: no pass over the fleet per request
    if found is None or found.id not in coverage.assessments:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device_id} on {day}")
    names = {u.code: u.name for u in snapshot.units}
    detail = _public(found, coverage.assessments[found.id], names)
    detail.update(
        as_of=day, first_seen=found.first_seen, firewall_enabled=found.firewall_enabled,
        internet_reachable=found.internet_reachable, bios_date=found.bios_date,
        earliest_bios_date=found.earliest_bios_date, os_install_date=found.os_install_date,
        delivered_offline=found.delivered_offline, clock_wrong=found.clock_wrong,
        attached_to=found.host_id if found.kind not in COMPUTER_KINDS else None,
        antivirus_products=[AntivirusPublic(name=p.name, enabled=p.enabled, up_to_date=p.up_to_date,
                                            signatures_updated_at=p.signatures_updated_at, source=p.source,
                                            licence_expires=p.licence_expires, licence_type=p.licence_type)
                            for p in found.antivirus])
    return DeviceDetail.model_validate(detail)


