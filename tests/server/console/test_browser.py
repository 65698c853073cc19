"""The console in a real browser (Debian's Chromium driven by Playwright) against a real uvicorn server.

Skipped with the reason when Chromium or Playwright is missing on a user's machine; under CI=true a missing
browser fails the run instead, so the browser tests cannot silently stop running there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.config import Settings
from server.console.auth import demo_sign_in
from tests.server.console.conftest import PASSWORDS, SCRIPT_HOST

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path("/tmp")

pytestmark = pytest.mark.slow


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


def _require_browser() -> None:
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true requires the browser tests: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """uvicorn serving the app on a free loopback port, on a copy of the seeded district."""
    _require_browser()
    folder = tmp_path_factory.mktemp("browser")
    shutil.copy(seeded_template, folder / "kiemke.db")
    settings = Settings(environment="development", data_dir=folder)
    port = _free_port()
    env = {**os.environ, "KIEMKE_DATA_DIR": str(folder), "KIEMKE_ENV": "development"}
    env.pop("KIEMKE_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "server.main:app_from_env", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        yield base, settings
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser(server: tuple[str, Settings]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORDS[username])
    page.click("button.primary")
    page.wait_for_url(base + "/")


def test_officer_signs_in_reads_switches_language_and_filters(page: Any, server: tuple[str, Settings]) -> None:
    base, _ = server
    _sign_in(page, base, "admin")
    assert page.locator("h1").inner_text() == "Tổng quan: Toàn huyện"
    staff = page.locator("tr", has_text="Cán bộ, công chức, viên chức được trang bị máy tính").first
    assert staff.locator("td.share").inner_text().count("%") == 1
    assert "," in staff.locator("td.share").inner_text() and "/" in staff.locator("td.share").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "kiemke-console-overview.png"), full_page=True)

    page.click("a[lang=en]")
    page.wait_for_url("**lang=en")
    assert page.locator("h1").inner_text() == "Overview: Whole district"
    page.click("nav >> text=Devices")
    assert page.locator("h1").inner_text() == "Devices: Whole district"  # the cookie keeps English

    page.select_option("select[name=unit]", "X01")
    page.click("form.toolbar button[type=submit]")
    page.wait_for_url("**unit=X01**")
    units = set(page.locator("table.list tbody tr td:first-child").all_inner_texts())
    assert units == {"UBND thị trấn Cây Dương"}
    page.screenshot(path=str(SCREENSHOTS / "kiemke-console-devices.png"))


def test_a_script_host_name_is_shown_as_text(page: Any, server: tuple[str, Settings]) -> None:
    base, _ = server
    dialogs: list[str] = []

    def record(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    _sign_in(page, base, "xa")
    page.goto(base + "/devices?q=script")
    assert page.locator("table.list .name").all_inner_texts() == [SCRIPT_HOST]
    assert dialogs == []


def test_a_viewer_cannot_reach_another_unit(page: Any, server: tuple[str, Settings]) -> None:
    base, _ = server
    _sign_in(page, base, "xa")
    assert page.locator("h1").inner_text() == "Tổng quan: UBND thị trấn Cây Dương"
    page.goto(base + "/devices")
    assert set(page.locator("table.list tbody tr td:first-child").all_inner_texts()) == {"UBND thị trấn Cây Dương"}
    assert "PB01-PC01" not in page.content()
    response = page.goto(base + "/devices?unit=PB01")
    assert response is not None and response.status == 403
    assert "Không được phép" in page.locator("h1").inner_text()
    assert page.locator("table.list").count() == 0


def test_the_demo_link_opens_the_console(page: Any, server: tuple[str, Settings]) -> None:
    base, settings = server
    link = demo_sign_in(base, settings)
    page.goto(link.url)
    assert page.url == base + "/"
    assert "Tổng quan" in page.locator("h1").inner_text()
    page.goto(link.url)  # used once already
    assert "/login" in page.url and "đã được dùng" in page.locator(".alert").inner_text()
