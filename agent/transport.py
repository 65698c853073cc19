"""HTTP to the server: one ``requests`` session, TLS verified by default, every answer sorted into an outcome.

Outcomes (what the spool does with the report, see ``shared/protocol.py``)::

    delivered  2xx "accepted"            remove from the spool
    duplicate  2xx "duplicate"           remove: the server already had it
    retry      connection, DNS, TLS,     keep; try again later with backoff
               timeout, 5xx, 429, 408
    set_aside  413, 422, other 4xx       this report will never be accepted: move it aside with the reason
    reenrol    401, 403                  keep; stop sending until someone re-enrols the agent

Plain ``http://`` is refused unless the agent was enrolled with ``--allow-http``, and then every run warns.
"""

from __future__ import annotations

import enum
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from agent import __version__
from shared.protocol import ENROLL_PATH, HEARTBEAT_PATH, REPORTS_PATH, EnrollRequest, EnrollResponse

if TYPE_CHECKING:
    import requests

log = logging.getLogger("kiemke.agent")


class Outcome(str, enum.Enum):
    """What became of one request; decides what the spool does with the report."""

    DELIVERED = "delivered"
    DUPLICATE = "duplicate"
    RETRY = "retry"
    SET_ASIDE = "set_aside"
    REENROL = "reenrol"


@dataclass(frozen=True)
class Delivery:
    """The outcome of one request, with the HTTP status when there was one and a readable detail."""

    outcome: Outcome
    status_code: int | None = None
    detail: str = ""

    @property
    def arrived(self) -> bool:
        """The server has the report (now or from before)."""
        return self.outcome in (Outcome.DELIVERED, Outcome.DUPLICATE)


class InsecureServerError(ValueError):
    """A plain-HTTP (or otherwise unusable) server URL without ``--allow-http``."""


class EnrolmentError(RuntimeError):
    """The server refused or could not be asked for enrolment; ``delivery`` says which."""

    def __init__(self, delivery: Delivery) -> None:
        super().__init__(delivery.detail)
        self.delivery = delivery


def classify_status(status_code: int, body_status: str | None = None) -> Outcome:
    """The outcome of an HTTP answer, by status code (and the body's ``status`` for a 2xx)."""
    if 200 <= status_code < 300:
        return Outcome.DUPLICATE if body_status == "duplicate" else Outcome.DELIVERED
    if status_code in (401, 403):
        return Outcome.REENROL
    if status_code in (408, 429) or status_code >= 500:
        return Outcome.RETRY
    if 400 <= status_code < 500:
        return Outcome.SET_ASIDE
    # A redirect or something stranger: the URL is probably wrong, which is no fault of the report. Keep it.
    return Outcome.RETRY


def check_server_url(url: str, allow_http: bool) -> str:
    """``url`` without a trailing slash when it may be used; InsecureServerError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise InsecureServerError(f"server URL must look like https://host[:port], not {url!r}")
    if parts.scheme == "http" and not allow_http:
        raise InsecureServerError(
            f"{url} is plain HTTP: reports and the agent key would travel unencrypted. Use https://, "
            "or enrol with --allow-http if this network is trusted."
        )
    return url.rstrip("/")


def plain_http_warning(url: str) -> str | None:
    """The loud warning for a plain-HTTP server, or None for HTTPS."""
    if urlsplit(url).scheme == "http":
        return f"plain HTTP to {url}: reports and the agent key travel UNENCRYPTED (enrolled with --allow-http)"
    return None


_SSL_REASON = re.compile(r"\[SSL: [A-Z_]+\] ([^(]+?)\s*\(")
_OS_REASON = re.compile(r"\[(?:Errno|WinError) -?\d+\] ([^'\")]+)")
_TIMEOUT_REASON = re.compile(r"((?:Read|Connect|Connection)[^.]*timed out)[^(]*(\([a-z]+ timeout=[\d.]+\))?")


def describe_error(exc: Exception) -> str:
    """A short reason for a failed request: ``dns``, ``tls``, ``timeout`` or ``connection``, then why.

    requests wraps the socket's reason in two layers of repr; the officer reading ``status`` needs the reason.
    """
    import requests

    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        kind, match = "tls", _SSL_REASON.search(text)
    elif isinstance(exc, requests.exceptions.Timeout):
        kind, match = "timeout", _TIMEOUT_REASON.search(text)
    else:
        dns = "NameResolution" in text or "getaddrinfo" in text or "Name or service not known" in text
        kind, match = ("dns" if dns else "connection"), _OS_REASON.search(text)
    if match is None:
        return f"{kind}: {text[:300]}"
    return f"{kind}: {' '.join(g for g in match.groups() if g).strip()}"


def _error_detail(response: requests.Response) -> str:
    """The server's ``detail`` message, or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:300]
    return str(body)[:300]


def _refusal(response: requests.Response) -> Delivery:
    """The outcome of a non-2xx answer, with the server's reason."""
    status = response.status_code
    return Delivery(classify_status(status), status, f"HTTP {status}: {_error_detail(response)}")


class Transport:
    """A session to one server; ``agent_key`` may be None only for enrolment."""

    def __init__(
        self,
        server_url: str,
        agent_key: str | None = None,
        *,
        ca_bundle: str | None = None,
        allow_http: bool = False,
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
    ) -> None:
        import requests

        self.server_url = check_server_url(server_url, allow_http)
        warning = plain_http_warning(self.server_url)
        if warning:
            log.warning(warning)
        if ca_bundle and not Path(ca_bundle).is_file():
            raise InsecureServerError(f"CA bundle {ca_bundle} does not exist")
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        # A custom CA replaces the system store for this server only; verification is never switched off.
        self.session.verify = ca_bundle or True
        # Proxies from the environment would surprise an officer on a LAN; the server is addressed directly.
        self.session.trust_env = False
        self.session.headers["User-Agent"] = f"kiemke-agent/{__version__}"
        if agent_key:
            self.session.headers["Authorization"] = f"Bearer {agent_key}"

    def close(self) -> None:
        """Release the connection pool."""
        self.session.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _send(self, path: str, body: bytes) -> requests.Response | Delivery:
        """POST JSON ``body`` to ``path``: the server's answer, or the RETRY Delivery when none came."""
        import requests

        try:
            return self.session.post(
                self.server_url + path,
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=self.timeout,
                # Never follow a redirect with the key and the report: a moved server is fixed by re-enrolling.
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            return Delivery(Outcome.RETRY, None, describe_error(exc))

    def _post(self, path: str, body: bytes) -> Delivery:
        response = self._send(path, body)
        if isinstance(response, Delivery):
            return response
        with response:
            if not response.ok:
                return _refusal(response)
            try:
                answer: Any = response.json()
            except ValueError:
                answer = {}
            status = answer.get("status") if isinstance(answer, dict) else None
            return Delivery(classify_status(response.status_code, status), response.status_code, str(status or ""))

    def post_report(self, body: bytes) -> Delivery:
        """Send one report (its JSON bytes as spooled)."""
        return self._post(REPORTS_PATH, body)

    def heartbeat(self, payload: Mapping[str, Any]) -> Delivery:
        """Tell the server the agent is alive; cheap, carries no inventory."""
        return self._post(HEARTBEAT_PATH, json.dumps(dict(payload)).encode("utf-8"))

    def enroll(self, request: EnrollRequest) -> EnrollResponse:
        """Trade an enrolment token for this agent's credentials; EnrolmentError when that fails."""
        response = self._send(ENROLL_PATH, request.model_dump_json(exclude_none=True).encode("utf-8"))
        if isinstance(response, Delivery):
            raise EnrolmentError(response)
        with response:
            if not response.ok:
                raise EnrolmentError(_refusal(response))
            try:
                return EnrollResponse.model_validate_json(response.content)
            except ValueError as exc:
                raise EnrolmentError(
                    Delivery(Outcome.RETRY, response.status_code, f"unexpected answer to enrolment: {exc}")
                ) from exc
