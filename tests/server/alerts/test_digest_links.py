"""``KIEMKE_PUBLIC_URL``: checked as an http(s) address, shown by ``kiemke-server config``; when set, the digest
links to the console's alerts page and to each alert's device (escaped in the HTML part); when not, it names the
page in words."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy.engine import Engine

from server.alerts.config import AlertSettings
from server.alerts.digest import compose, send_digests
from server.alerts.store import AlertLine
from server.cli import main
from server.config import ConfigError, Settings
from server.models import User
from tests.server.alerts.smtp import MailServer, smtp_server
from tests.server.alerts.test_digest import _people, _settings, _switch_off
from tests.server.alerts.world import NOW

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AT = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)


def _lines() -> list[AlertLine]:
    return [AlertLine(7, "antivirus_disabled", "open", 42, "Máy <kế toán>", "XA1", "Xã Một", "", {}, AT,
                      None, None, None, None),
            AlertLine(8, "licence_expired", "open", None, None, None, None, "BKAV", {}, AT, None, None, None, None)]


def _user(lang: str) -> User:
    return User(username="can-bo", password_hash="x", role="officer", email="cb@example.vn", lang=lang)


@pytest.mark.parametrize(("given", "kept"), [
    ("https://kiemke.ubnd.example.vn/", "https://kiemke.ubnd.example.vn"),
    ("http://10.1.2.3:8080/kiem-ke", "http://10.1.2.3:8080/kiem-ke"),
    ("HTTPS://KiemKe.example.vn", "https://KiemKe.example.vn"),
    ("", None),
])
def test_the_public_address_is_checked_and_kept_without_its_final_slash(given: str, kept: str | None) -> None:
    assert Settings.from_env({"KIEMKE_PUBLIC_URL": given}).public_url == kept
    assert AlertSettings.from_env({"KIEMKE_PUBLIC_URL": given}).public_url == kept
    assert Settings.from_env({}).public_url is None


@pytest.mark.parametrize("given", ["kiemke.example.vn", "ftp://kiemke.example.vn", "javascript:alert(1)",
                                   "https://", "https://a b.vn", "https://x.vn/\"><script>", "https://x.vn:99999",
                                   "https://admin:hunter2@x.vn", "https://x.vn/?a=1", "https://x.vn/#top"])
def test_anything_but_an_http_address_is_refused_naming_the_variable(given: str) -> None:
    with pytest.raises(ConfigError, match=r"^KIEMKE_PUBLIC_URL") as refused:
        Settings.from_env({"KIEMKE_PUBLIC_URL": given})
    assert "hunter2" not in str(refused.value)


def test_the_config_command_shows_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KIEMKE_PUBLIC_URL", "https://kiemke.ubnd.example.vn/")
    assert main(["config", "--json"]) == 0
    rows = {row["variable"]: row for row in json.loads(capsys.readouterr().out)["data"]}
    assert rows["KIEMKE_PUBLIC_URL"]["value"] == "https://kiemke.ubnd.example.vn"
    assert rows["KIEMKE_PUBLIC_URL"]["default"] is False and "digest" in rows["KIEMKE_PUBLIC_URL"]["description"]
    monkeypatch.setenv("KIEMKE_PUBLIC_URL", "ftp://x")
    assert main(["config"]) == 2
    assert "KIEMKE_PUBLIC_URL" in capsys.readouterr().err


def test_with_the_address_the_digest_links_to_the_alerts_and_each_device() -> None:
    base = "https://kiemke.example.vn/a&b"  # an "&" in the path: escaped in the HTML part
    mail = compose(_user("vi"), _lines(), "Xã Một", AT, TZ, base)
    assert "Xem và ghi nhận các cảnh báo tại trang Cảnh báo: https://kiemke.example.vn/a&b/alerts" in mail.text
    assert "  https://kiemke.example.vn/a&b/devices/42\n" in mail.text
    assert mail.text.count("/devices/") == 1  # the district-wide licence has no device page
    assert '<a href="https://kiemke.example.vn/a&amp;b/alerts">https://kiemke.example.vn/a&amp;b/alerts</a>' \
        in mail.html
    assert '<a href="https://kiemke.example.vn/a&amp;b/devices/42">Máy &lt;kế toán&gt;</a>' in mail.html
    assert "a&b" not in mail.html and "<kế toán>" not in mail.html
    english = compose(_user("en"), _lines(), None, AT, TZ, base)
    assert "See and acknowledge the alerts on the Alerts page: https://kiemke.example.vn/a&b/alerts" in english.text


def test_without_the_address_the_digest_names_the_page_in_words() -> None:
    mail = compose(_user("vi"), _lines(), "Xã Một", AT, TZ)
    assert "Xem và ghi nhận các cảnh báo tại trang Cảnh báo của hệ thống kiểm kê." in mail.text
    assert "http" not in mail.text and "href" not in mail.html
    assert "Máy &lt;kế toán&gt;" in mail.html


def test_the_sent_digest_carries_the_links(district: Engine, tmp_path: Path,
                                           frozen: time_machine.Coordinates) -> None:
    _people(district)
    device = _switch_off(district, "XA1", "pc-xa1")
    server: MailServer
    with smtp_server(tmp_path) as server:
        run = send_digests(district, _settings(server, public_url="https://kiemke.example.vn"), TZ, now=NOW)
        assert sorted(run.sent) == [("can-bo-xa1", 1), ("district-it", 1)]
        [message] = server.mailbox.to("it@ubnd.example.vn")
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    assert f"https://kiemke.example.vn/devices/{device}" in text.get_content()
    assert 'href="https://kiemke.example.vn/alerts"' in html.get_content()
