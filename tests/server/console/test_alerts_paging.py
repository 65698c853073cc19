"""The alerts page in pages of a hundred: the total, page N of M, the next page continuing in the same order
(ties in time broken by id), the filters kept in the pager's links, and a bad page number refused."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient

from server.config import Settings
from server.console.alert_views import PAGE_SIZE
from server.db import make_engine, reading, writing
from server.models import Alert, OrgUnit, table_of

NOW = datetime(2026, 12, 3, 17, 30, tzinfo=timezone.utc)
ALERTS = 250  # three pages of live alerts; every fifth is resolved, every third a clock alert


@pytest.fixture(autouse=True)
def frozen(seeded_db: str) -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def many(console_settings: Settings) -> list[int]:
    """``ALERTS`` alerts in X01, two per minute (so that times tie); their ids newest first, as listed."""
    engine = make_engine(console_settings.url)
    alert = table_of(Alert)
    with writing(engine) as session:
        x01 = session.execute(sa.select(table_of(OrgUnit).c.id).where(table_of(OrgUnit).c.code == "X01")).scalar()
        session.execute(sa.delete(alert))
        for n in range(ALERTS):
            session.execute(sa.insert(alert).values(
                key=f"not_seen|-|pc-{n}", rule="clock_wrong" if n % 3 == 0 else "not_seen", device_id=None,
                unit_id=x01, subject=f"pc-{n:03d}", detail="{}", state="resolved" if n % 5 == 0 else "open",
                opened_at=(NOW - timedelta(minutes=ALERTS - n // 2)).replace(tzinfo=None)))
    with reading(engine) as session:
        t = alert.c
        ids = list(session.execute(sa.select(t.id).where(t.state != "resolved")
                                   .order_by(t.opened_at.desc(), t.id.desc())).scalars())
    engine.dispose()
    return ids


def _ids(text: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="alert-(\d+)"', text)]


def _pager(text: str) -> dict[str, str]:
    """The pager's links by their rel (prev, next), unescaped."""
    return {rel: html.unescape(href) for rel, href in re.findall(r'<a rel="(prev|next)" href="([^"]+)"', text)}


def test_page_two_continues_page_one_in_the_same_order(many: list[int], admin: TestClient) -> None:
    first = admin.get("/alerts?lang=en")
    assert first.status_code == 200
    assert len(many) == 200 and _ids(first.text) == many[:PAGE_SIZE]
    assert f"Alerts 1–100 of {len(many)}" in first.text and "Page 1/2" in first.text
    assert _pager(first.text) == {"next": "/alerts?page=2"}
    second = admin.get(_pager(first.text)["next"] + "&lang=vi")
    assert _ids(second.text) == many[PAGE_SIZE:2 * PAGE_SIZE]
    assert "Cảnh báo 101–200 / 200" in second.text and "Trang 2/2" in second.text
    assert _pager(second.text) == {"prev": "/alerts?page=1"}
    assert _ids(admin.get("/alerts?page=9").text) == many[PAGE_SIZE:]  # past the last: the last


def test_the_pager_keeps_the_filters(many: list[int], admin: TestClient, console_settings: Settings) -> None:
    page = admin.get("/alerts", params={"unit": "X01", "state": "all", "rule": "not_seen"})
    shown = _ids(page.text)
    assert len(shown) == PAGE_SIZE
    following = _pager(page.text)["next"]
    assert following.startswith("/alerts?") and {*following.split("?")[1].split("&")} == {
        "unit=X01", "state=all", "rule=not_seen", "page=2"}
    rest = _ids(admin.get(following).text)
    assert rest and not set(rest) & set(shown)
    assert "&amp;" in page.text.split('rel="next"')[1].split(">")[0]  # the link is written escaped
    engine = make_engine(console_settings.url)
    with reading(engine) as session:
        t = table_of(Alert).c
        expected = list(session.execute(sa.select(t.id).where(t.rule == "not_seen")
                                        .order_by(t.opened_at.desc(), t.id.desc())).scalars())
    engine.dispose()
    assert shown + rest == expected


def test_a_single_page_has_no_pager(many: list[int], admin: TestClient) -> None:
    page = admin.get("/alerts?rule=clock_wrong&lang=en")
    assert _ids(page.text) and "Page 1/" not in page.text and 'class="pager"' not in page.text
    assert f"{len(_ids(page.text))} alerts" in page.text


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5", ""])
def test_a_bad_page_number_gets_the_consoles_error_page(bad: str, many: list[int], admin: TestClient) -> None:
    refused = admin.get("/alerts", params={"page": bad, "lang": "en"})
    assert refused.status_code == 400
    assert "Bad request" in refused.text and "page" in refused.text
