"""Under randomised districts the rendered report never shows a share above 100%, nor a rounded-up 100%."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.report import build_report, render
from server.services.coverage import coverage_for
from server.services.figure import percent_of
from server.services.policy import Policy
from server.services.state import AntivirusState, DeviceState, LicenceState, Snapshot, UnitState

AS_OF = date(2024, 5, 18)
SHARE = re.compile(r"(\d{1,3}(?:\.\d{3})*,\d{2})% \((\d{1,3}(?:\.\d{3})*)/(\d{1,3}(?:\.\d{3})*)\)")
maybe_bool = st.sampled_from([True, False, None])


@st.composite
def districts(draw: st.DrawFn) -> Snapshot:
    """A district grouping with random units below it, random devices, facts and licences."""
    units = [UnitState("PH", "UBND huyện", "district", staff=draw(st.none() | st.integers(0, 30)))]
    for i in range(draw(st.integers(0, 6))):
        units.append(UnitState(
            f"U{i}", f"Đơn vị {i}", draw(st.sampled_from(["department", "commune", "school", "other"])),
            parent_code=draw(st.sampled_from([u.code for u in units])),
            staff=draw(st.none() | st.integers(0, 12)), lan=draw(maybe_bool), wifi=draw(maybe_bool),
            wan=draw(maybe_bool), internet=draw(st.sampled_from(["fibre", "other", "none", None])),
            one_stop_shop=draw(st.booleans()),
        ))
    codes = [u.code for u in units]
    devices = []
    for i in range(draw(st.integers(0, 25))):
        agent = draw(st.booleans())
        products = tuple(
            AntivirusState(name=draw(st.sampled_from(["BKAV Pro", "Windows Defender", "Kaspersky"])),
                           enabled=draw(maybe_bool), up_to_date=draw(maybe_bool),
                           signatures_updated_at=draw(st.none() | st.just(datetime(2024, 5, 1, tzinfo=timezone.utc))),
                           source="security_center")
            for _ in range(draw(st.integers(0, 2)) if agent else 0)
        )
        seen = datetime(2024, 5, 18, tzinfo=timezone.utc) - timedelta(days=draw(st.integers(0, 90)))
        devices.append(DeviceState(
            id=i + 1, unit_code=draw(st.sampled_from(codes)),
            kind=draw(st.sampled_from(["desktop", "laptop", "server", "printer", "scanner", "photocopier",
                                       "camera", "monitor"])),
            status=draw(st.sampled_from(["in_use", "in_use", "spare", "retired"])),
            air_gapped=draw(st.booleans()),
            purchased_on=draw(st.none() | st.dates(date(2005, 1, 1), date(2024, 5, 18))),
            has_agent=agent, first_seen=seen if agent else None, last_seen=seen if agent else None,
            delivered_offline=agent and draw(st.booleans()),
            os_name=draw(st.sampled_from(["Microsoft Windows 10 Pro", "Microsoft Windows 7 Professional", None])),
            antivirus=products, firewall_enabled=draw(maybe_bool) if agent else None,
            internet_reachable=draw(maybe_bool) if agent else None,
        ))
    licences = tuple(
        LicenceState(i + 1, draw(st.sampled_from(["BKAV Pro", "Kaspersky"])), seats=draw(st.integers(0, 5)),
                     valid_from=date(2023, 1, 1), valid_to=draw(st.dates(date(2023, 6, 1), date(2025, 1, 1))),
                     unit_code=draw(st.none() | st.sampled_from(codes)))
        for i in range(draw(st.integers(0, 2)))
    )
    return Snapshot(as_of=AS_OF, units=tuple(units), devices=tuple(devices), licences=licences)


def _number(text: str) -> int:
    return int(text.replace(".", ""))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshot=districts(), lang_items=st.booleans())
def test_no_rendered_share_above_100_percent(snapshot: Snapshot, lang_items: bool) -> None:
    cov = coverage_for(snapshot, Policy())
    document = build_report(cov, snapshot, "vi", items=lang_items)
    text = render(document, "md").decode()
    for match in SHARE.finditer(text):
        shown = float(match.group(1).replace(".", "").replace(",", "."))
        num, den = _number(match.group(2)), _number(match.group(3))
        assert 0 <= num <= den and den > 0, match.group(0)
        assert shown == float(percent_of(num, den) or 0), match.group(0)  # the one rounding rule, clamped
        assert (shown == 0) == (num == 0), match.group(0)
        assert shown <= 100
        assert (shown == 100) == (num == den), match.group(0)
    data = json.loads(render(document, "json"))
    for figures in (data["figures"], *data["per_unit"].values()):
        for figure in figures.values():
            assert figure["percent"] is None or 0 <= figure["percent"] <= 100
            assert figure["percent"] is not None or figure["denominator"] == 0
