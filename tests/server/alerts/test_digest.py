"""The alert digest: one per officer, at the hour in Hanoi whatever the machine's zone, delivered over STARTTLS
to a real SMTP server and read back (subject, recipients, language, escaping)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.engine import Engine

from server.alerts.config import AlertSettings
from server.alerts.digest import send_digests
from server.alerts.evaluate import evaluate_devices
from server.alerts.mail import Mail, MailError
from server.alerts.mail import send as send_mail
from server.alerts.schedule import run_digest_job
from server.console.auth import create_user
from server.db import reading, writing
from server.models import Device
from server.services.records import save_device
from server.services.users import set_contact
from tests.server.alerts.smtp import MailServer, smtp_server
from tests.server.alerts.world import NOW, POLICY, report, send

pytestmark = pytest.mark.dates
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OFF = {"name": "Windows Defender", "enabled": False, "source": "security_center"}


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[MailServer]:
    with smtp_server(tmp_path) as server:
        yield server


@pytest.fixture
def elsewhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's own zone is Los Angeles: the digest hour must still be Hanoi's."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _settings(mail: MailServer, **kw: object) -> AlertSettings:
    values: dict[str, object] = {"smtp_host": mail.host, "smtp_port": mail.port, "smtp_ca_file": str(mail.ca),
                                 "smtp_from": "kiemke@ubnd.example.vn", "digest_hour": 8}
    values.update(kw)
    return AlertSettings(**values)  # type: ignore[arg-type]


def _people(engine: Engine) -> None:
    at = NOW - timedelta(days=10)
    with time_machine.travel(at, tick=False):
        create_user(engine, "can-bo-xa1", "mat-khau-dai-12345", "officer", "XA1", actor="test")
        create_user(engine, "district-it", "mat-khau-dai-12345", "admin", None, actor="test")
        create_user(engine, "xem", "mat-khau-dai-12345", "viewer", None, actor="test")
        create_user(engine, "no-mail", "mat-khau-dai-12345", "officer", None, actor="test")
    set_contact(engine, "can-bo-xa1", "canbo.xa1@ubnd.example.vn", "vi", "test")
    set_contact(engine, "district-it", "it@ubnd.example.vn", "en", "test")
    set_contact(engine, "xem", "viewer@ubnd.example.vn", "en", "test")


def _switch_off(engine: Engine, unit: str, machine: str, name: str | None = None) -> int:
    result = send(engine, unit, report(machine, antivirus=[OFF]))
    assert result.device_id is not None
    if name is not None:
        with writing(engine) as session:
            device = session.get(Device, result.device_id)
            assert device is not None
            device.name = name
            save_device(session, device, NOW)
    evaluate_devices(engine, POLICY, TZ, [result.device_id])
    return result.device_id


def test_one_digest_per_officer_at_eight_in_hanoi(district: Engine, mail: MailServer, elsewhere: None,
                                                  frozen: time_machine.Coordinates) -> None:
    _people(district)
    _switch_off(district, "XA1", "pc-xa1", name="Máy <b>kế toán</b> & thủ quỹ")
    _switch_off(district, "XA2", "pc-xa2")
    settings = _settings(mail)
    # the next morning, 07:59 in Hanoi (00:59 UTC, 16:59 the day before in Los Angeles): not yet
    morning = NOW.replace(hour=0) + timedelta(days=1)
    frozen.move_to(morning.replace(minute=59))
    assert run_digest_job(district, TZ, settings) is None
    assert mail.mailbox.messages == []
    frozen.move_to(morning.replace(hour=1, minute=5))  # 08:05 in Hanoi
    run = run_digest_job(district, TZ, settings)
    assert run is not None
    assert sorted(run.sent) == [("can-bo-xa1", 1), ("district-it", 2)]
    assert all(tls for _, _, tls in mail.mailbox.messages)  # every message went over STARTTLS
    assert {tuple(rcpt) for rcpt, _, _ in mail.mailbox.messages} == {
        ("canbo.xa1@ubnd.example.vn",), ("it@ubnd.example.vn",)}

    [vi] = mail.mailbox.to("canbo.xa1@ubnd.example.vn")
    assert vi["Subject"] == "[Kiểm kê CNTT] 1 cảnh báo mới (Xã Một)"
    assert vi["From"] == "kiemke@ubnd.example.vn"
    text = vi.get_body(("plain",))
    html = vi.get_body(("html",))
    assert text is not None and html is not None
    plain, page = text.get_content(), html.get_content()
    assert "Kính gửi can-bo-xa1," in plain
    assert "Phần mềm diệt virus bị tắt" in plain
    assert "Máy <b>kế toán</b> & thủ quỹ" in plain  # plain text is not HTML
    assert "Máy &lt;b&gt;kế toán&lt;/b&gt; &amp; thủ quỹ" in page
    assert "<b>kế toán</b>" not in page
    assert "pc-xa2" not in plain  # the other commune is not in this officer's scope
    assert "2026-12-03 09:00" in plain  # opened at 02:00 UTC, shown in Hanoi time

    [en] = mail.mailbox.to("it@ubnd.example.vn")
    assert en["Subject"] == "[kiemke] 2 new alerts (the whole district)"
    body = en.get_body(("plain",))
    assert body is not None
    assert "Antivirus switched off" in body.get_content() and "pc-xa2" in body.get_content()

    # the same day again: another replica's claim, nothing sent twice
    frozen.move_to(morning.replace(hour=2))
    assert run_digest_job(district, TZ, settings) is None
    # nothing new since: no mail at all
    again = send_digests(district, settings, TZ)
    assert again.sent == [] and sorted(again.nothing_new) == ["can-bo-xa1", "district-it"]
    assert len(mail.mailbox.messages) == 2


def test_next_digest_covers_only_the_new_alerts(district: Engine, mail: MailServer,
                                                frozen: time_machine.Coordinates) -> None:
    _people(district)
    _switch_off(district, "XA1", "pc-1")
    settings = _settings(mail)
    frozen.move_to(NOW + timedelta(hours=1))
    assert send_digests(district, settings, TZ).sent == [("can-bo-xa1", 1), ("district-it", 1)]
    frozen.move_to(NOW + timedelta(hours=2))
    _switch_off(district, "XA1", "pc-2")
    frozen.move_to(NOW + timedelta(hours=3))
    assert send_digests(district, settings, TZ).sent == [("can-bo-xa1", 1), ("district-it", 1)]
    latest = mail.mailbox.to("canbo.xa1@ubnd.example.vn")[-1].get_body(("plain",))
    assert latest is not None and "pc-2" in latest.get_content() and "pc-1" not in latest.get_content()


def test_a_mail_server_that_is_down_delays_the_digest_without_losing_it(district: Engine, tmp_path: Path,
                                                                        frozen: time_machine.Coordinates) -> None:
    _people(district)
    _switch_off(district, "XA1", "pc-1")
    with smtp_server(tmp_path / "first") as server:
        settings = _settings(server)
    morning = NOW.replace(hour=0) + timedelta(days=1)
    frozen.move_to(morning.replace(hour=1, minute=5))
    run = run_digest_job(district, TZ, settings)  # the server has stopped
    assert run is not None and run.error and sorted(run.failed) == ["can-bo-xa1", "district-it"]
    with reading(district) as session:
        status = session.execute(sa.text("SELECT status FROM job_run WHERE job = 'alert-digest'")).scalar_one()
    assert status == "failed"  # the next hourly tick tries again
    with smtp_server(tmp_path / "second") as server:
        frozen.move_to(morning.replace(hour=2, minute=5))
        run = run_digest_job(district, TZ, _settings(server))
        assert run is not None and sorted(run.sent) == [("can-bo-xa1", 1), ("district-it", 1)]


def test_an_unknown_ca_is_refused(district: Engine, mail: MailServer, frozen: time_machine.Coordinates) -> None:
    _people(district)
    _switch_off(district, "XA1", "pc-1")
    run = send_digests(district, _settings(mail, smtp_ca_file=None), TZ)  # the system's CAs do not know it
    assert run.sent == [] and run.error is not None and "CERTIFICATE_VERIFY_FAILED" in run.error
    assert mail.mailbox.messages == []
    with pytest.raises(MailError):
        send_mail(_settings(mail, smtp_ca_file=None), [Mail("a@b.vn", "s", "t", "<p>t</p>")])
