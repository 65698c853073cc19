"""Transport: every answer sorted into delivered / duplicate / retry / set_aside / reenrol, TLS on by default."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import requests

from agent.transport import (
    InsecureServerError,
    Outcome,
    Transport,
    check_server_url,
    classify_status,
    describe_error,
    plain_http_warning,
)

from .helpers import free_port, make_report, scripted_server


@pytest.mark.parametrize(
    ("status", "body_status", "expected"),
    [
        (200, "accepted", Outcome.DELIVERED),
        (201, "accepted", Outcome.DELIVERED),
        (200, "duplicate", Outcome.DUPLICATE),
        (401, None, Outcome.REENROL),
        (403, None, Outcome.REENROL),
        (413, None, Outcome.SET_ASIDE),
        (422, None, Outcome.SET_ASIDE),
        (400, None, Outcome.SET_ASIDE),
        (404, None, Outcome.SET_ASIDE),
        (408, None, Outcome.RETRY),
        (429, None, Outcome.RETRY),
        (500, None, Outcome.RETRY),
        (502, None, Outcome.RETRY),
        (503, None, Outcome.RETRY),
        (301, None, Outcome.RETRY),
    ],
)
def test_classify_status(status: int, body_status: str | None, expected: Outcome) -> None:
    assert classify_status(status, body_status) is expected


def test_plain_http_needs_allow_http_and_is_warned_about() -> None:
    with pytest.raises(InsecureServerError, match="plain HTTP"):
        check_server_url("http://10.0.0.5:8000", allow_http=False)
    assert check_server_url("http://10.0.0.5:8000/", allow_http=True) == "http://10.0.0.5:8000"
    assert check_server_url("https://kiemke.example.vn/", allow_http=False) == "https://kiemke.example.vn"
    warning = plain_http_warning("http://10.0.0.5:8000")
    assert warning is not None and "UNENCRYPTED" in warning
    assert plain_http_warning("https://kiemke.example.vn") is None
    with pytest.raises(InsecureServerError):
        check_server_url("ftp://kiemke.example.vn", allow_http=True)


def test_tls_is_verified_by_default_and_ca_bundle_must_exist(tmp_path: Path) -> None:
    with Transport("https://kiemke.example.vn", "kk_x_y") as transport:
        assert transport.session.verify is True
        assert transport.session.headers["Authorization"] == "Bearer kk_x_y"
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    with Transport("https://kiemke.example.vn", "k", ca_bundle=str(ca)) as transport:
        assert transport.session.verify == str(ca)
    with pytest.raises(InsecureServerError, match="does not exist"):
        Transport("https://kiemke.example.vn", "k", ca_bundle=str(tmp_path / "missing.pem"))


def test_answers_from_a_real_server_are_classified() -> None:
    body = make_report().model_dump_json().encode()
    with scripted_server([200, 500, 413, 401, 429]) as server, Transport(
        server.url, "kk_a_b", allow_http=True
    ) as transport:
        outcomes = [transport.post_report(body) for _ in range(5)]
    assert [d.outcome for d in outcomes] == [
        Outcome.DELIVERED, Outcome.RETRY, Outcome.SET_ASIDE, Outcome.REENROL, Outcome.RETRY,
    ]
    assert outcomes[2].status_code == 413 and "scripted 413" in outcomes[2].detail
    sent = server.report_posts()[0][1]
    assert sent["report_id"] == json.loads(body)["report_id"]


def test_unreachable_server_and_tls_failure_are_retried() -> None:
    with Transport(f"http://127.0.0.1:{free_port()}", "k", allow_http=True, connect_timeout=2) as transport:
        refused = transport.post_report(b"{}")
    assert refused.outcome is Outcome.RETRY and refused.detail.startswith("connection")
    # An https:// client meeting a plain-HTTP listener fails the TLS handshake: keep the report.
    with scripted_server([]) as server, Transport(
        server.url.replace("http://", "https://"), "k", connect_timeout=2, read_timeout=2
    ) as t:
        tls = t.post_report(b"{}")
    assert tls.outcome is Outcome.RETRY and tls.detail.startswith("tls")
    assert "wrong version number" in tls.detail.lower() and "HTTPSConnectionPool" not in tls.detail
    assert refused.detail == "connection: Connection refused"


def test_a_server_that_never_answers_times_out_and_is_retried() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel completes the handshake; nobody ever reads or answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with Transport(url, "k", allow_http=True, connect_timeout=2, read_timeout=0.5) as transport:
            silent = transport.post_report(b"{}")
    assert silent.outcome is Outcome.RETRY
    assert silent.detail.startswith("timeout: Read timed out") and "read timeout=0.5" in silent.detail


def test_dns_failure_reads_plainly() -> None:
    # The text requests gives for an unknown host name (urllib3 2.x), as captured on Linux.
    exc = requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='kiemke.invalid', port=443): Max retries exceeded with url: /api/v1/reports "
        "(Caused by NameResolutionError(\"<urllib3.connection.HTTPSConnection object at 0x7f3a>: Failed to "
        "resolve 'kiemke.invalid' ([Errno -2] Name or service not known)\"))"
    )
    assert describe_error(exc) == "dns: Name or service not known"
    windows = requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='kiemke.invalid', port=443): Max retries exceeded (Caused by "
        "NameResolutionError(\"<urllib3.connection.HTTPSConnection object>: Failed to resolve 'kiemke.invalid' "
        "([Errno 11001] getaddrinfo failed)\"))"
    )
    assert describe_error(windows) == "dns: getaddrinfo failed"
