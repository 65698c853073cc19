"""The device list's bit-set index gives exactly the devices and order of the plain filters it replaces."""

from __future__ import annotations

import itertools

import pytest
from fastapi.testclient import TestClient

from server.clock import local_today
from server.db import reading
from server.services.device_filter import DeviceQuery, fold, narrow, select_devices
from server.services.device_index import DeviceIndex, index_of, select
from server.services.figures import Figures, figures_as_of
from server.services.policy import Policy

QUERIES = (
    {}, {"kind": "desktop"}, {"status": "in_use", "kind": "desktop", "sort": "age", "dir": "desc"},
    {"age": "5-8"}, {"age": "unknown", "sort": "name"}, {"av": "windows defender"}, {"av": "Kaspersky"},
    {"os": "windows 1"}, {"os": "10.0"}, {"unseen": "40", "sort": "last_seen", "dir": "desc"},
    {"air_gapped": "yes"}, {"air_gapped": "no", "sort": "reports"}, {"subunits": "0"}, {"sort": "unit"},
    {"sort": "kind", "dir": "desc"}, {"kind": "printer", "status": "spare"},
)
ISSUES = ((), ("any",), ("past_service_life",), ("firewall_off", "os_unsupported"), ("no_agent",))


def _computed(client: TestClient, unit: str | None) -> Figures:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    with reading(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return figures_as_of(session, local_today(settings.tz), unit, policy=Policy.from_settings(settings),
                             tz=settings.tz)


@pytest.mark.parametrize("unit", [None, "PB01"])
def test_same_devices_and_order_as_the_plain_filters(admin: TestClient, unit: str | None) -> None:
    computed = _computed(admin, unit)
    settings = admin.app.state.settings  # type: ignore[attr-defined]
    as_of, tz = local_today(settings.tz), settings.tz
    names = {u.code: u.name for u in computed.snapshot.units}
    index = index_of(computed)
    assert index is index_of(computed)  # built once, kept with the computation
    figures = (None, "antivirus_enabled", "computers_with_agent")
    checked = 0
    for params, issues, figure, search in itertools.product(QUERIES, ISSUES, figures, (None, "may in", "pb01")):
        query = DeviceQuery.parse(params, issues)
        expected = narrow(select_devices(computed.snapshot, computed.coverage, figure=figure, search=search,
                                         unit_names=names), computed.coverage, query, unit=unit, as_of=as_of, tz=tz)
        got = select(index, query, figure=figure, search=search, unit_names=names, unit=unit, as_of=as_of, tz=tz)
        ids = [d.id for d in expected.devices]
        assert [d.id for d in got] == ids, (params, issues, figure, search)
        assert got.count == len(ids)
        assert [d.id for d in got.page(3, 10)] == ids[3:10]
        # pages in any order, again, and past the end: the kept walk goes on where it stopped
        end = len(ids)
        for start, stop in ((10, 14), (0, 2), (14, 30), (3, 10), (max(end - 2, 0), end + 5), (0, end + 1)):
            assert [d.id for d in got.page(start, stop)] == ids[start:stop], (params, start, stop)
        assert (got.os_names, got.av_names) == (expected.os_names, expected.av_names)
        checked += bool(ids)
    assert checked > 100  # most combinations keep devices: the comparison is not between empty lists


def test_search_folds_marks_and_case(admin: TestClient) -> None:
    computed = _computed(admin, None)
    names = {u.code: u.name for u in computed.snapshot.units}
    index = DeviceIndex(computed.snapshot, computed.coverage)
    kept = {index.devices[p].id for p in range(index.size) if index.search(fold("MÁY IN"), names) >> p & 1}
    assert kept and kept == {d.id for d in select_devices(computed.snapshot, computed.coverage, search="may in",
                                                          unit_names=names)}
