"""Antivirus licences kept in the console (admin): add, correct and retire, each a version and an audit entry;
an earlier date keeps the licence as it stood."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from server.clock import local_today, utcnow
from server.db import reading
from server.services.assets import AssetForm
from server.services.figures import figures_as_of
from server.services.licence_edits import add_licence, current_licences
from server.services.policy import Policy
from server.services.state import LicenceState
from tests.server.console.conftest import csrf_of, sign_in
from tests.server.console.test_device_page import _audit, _engine

PRODUCT = "Diệt virus <Thử nghiệm>"


def _licences(client: TestClient, days_ago: int = 0) -> list[LicenceState]:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    day = local_today(settings.tz) - timedelta(days=days_ago)
    with reading(_engine(client)) as session:
        snap = figures_as_of(session, day, None, policy=Policy.from_settings(settings), tz=settings.tz).snapshot
    return [lic for lic in snap.licences if lic.product == PRODUCT]


@pytest.mark.dates
def test_an_admin_adds_corrects_and_retires_a_licence(admin: TestClient) -> None:
    # Added three days ago (as if entered then), so that earlier dates have it.
    licence_id = add_licence(_engine(admin), AssetForm({"product": PRODUCT, "seats": "20", "unit": "PB01",
                                                        "valid_from": "01/01/2025", "valid_to": "31/12/2027"}),
                             actor="admin", at=utcnow() - timedelta(days=3))
    listed = admin.get("/licences").text
    assert "Diệt virus &lt;Thử nghiệm&gt;" in listed and f'href="/licences/{licence_id}/edit"' in listed
    form = admin.get(f"/licences/{licence_id}/edit").text
    corrected = admin.post(f"/licences/{licence_id}/edit", data={
        "csrf": csrf_of(form), "product": PRODUCT, "seats": "25", "valid_from": "2025-01-01",
        "valid_to": "2027-12-31", "unit": "PB01"})
    assert corrected.status_code == 303
    assert [lic.seats for lic in _licences(admin)] == [25]
    assert [lic.seats for lic in _licences(admin, days_ago=1)] == [20]  # yesterday keeps its seats
    assert _audit(admin, "licence.edit")[-1]["changes"] == {"seats": [20, 25]}

    retired = admin.post(f"/licences/{licence_id}/retire", data={"csrf": csrf_of(form)})
    assert retired.status_code == 303 and retired.headers["location"] == "/licences?retired=1"
    assert _licences(admin) == [] and [lic.seats for lic in _licences(admin, days_ago=1)] == [20]
    assert f"licence-{licence_id}" not in admin.get("/licences").text
    assert _audit(admin, "licence.retire")[-1]["actor"] == "admin"
    assert admin.post(f"/licences/{licence_id}/retire", data={"csrf": csrf_of(form)}).status_code == 404
    assert admin.get(f"/licences/{licence_id}/edit").status_code == 404
    assert "Thôi sử dụng bản quyền diệt virus" in admin.get("/audit").text


def test_a_new_licence_is_checked_field_by_field(admin: TestClient) -> None:
    page = admin.get("/licences/new").text
    refused = admin.post("/licences/new", data={"csrf": csrf_of(page), "product": "", "seats": "nhiều",
                                                "valid_from": "2026-02-30", "valid_to": "", "unit": "NOWHERE"})
    assert refused.status_code == 400
    for field in ("product", "seats", "valid_from", "unit"):
        assert f'id="err-{field}"' in refused.text, field
    backwards = admin.post("/licences/new", data={"csrf": csrf_of(page), "product": "Bkav", "seats": "5",
                                                  "valid_from": "2026-01-01", "valid_to": "2025-01-01"})
    assert backwards.status_code == 400 and 'id="err-valid_to"' in backwards.text
    added = admin.post("/licences/new", data={"csrf": csrf_of(page), "product": "Bkav Pro", "seats": "5"})
    assert added.status_code == 303
    assert any(line.product == "Bkav Pro" and line.unit_code is None for line in current_licences(_engine(admin)))
    assert _audit(admin, "licence.create")[-1]["seats"] == 5


def test_licences_are_for_administrators(app_client: TestClient) -> None:
    assert sign_in(app_client, "pb") == 303
    assert app_client.get("/licences").status_code == 403
    page = app_client.get("/").text
    refused = app_client.post("/licences/new", data={"csrf": csrf_of(page), "product": "X", "seats": "1"})
    assert refused.status_code == 403
    assert 'href="/licences"' not in page
