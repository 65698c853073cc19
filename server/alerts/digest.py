"""One e-mail digest per officer: the alerts newly opened in their unit scope since their previous digest.

Who gets one: enabled officers and admins with an e-mail address. The scope is the user's unit and its
sub-units (everything for a user bound to no unit); district-wide alerts (a register licence) go to every
scope. Alerts already resolved when the digest is made are left out; nothing new, no mail. The digest is in the
user's language (``lang``), plain text and HTML (Jinja2, escaped); with ``KIEMKE_PUBLIC_URL`` set it links to the
console's alerts page and each alert's device page, else it names the page in words. ``digest_sent_at`` moves
only when the message was accepted, so a mail server that is down delays the digest without losing an alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import jinja2
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from server.alerts.config import AlertSettings
from server.alerts.mail import Mail, MailError, send
from server.alerts.store import LIVE, AlertLine, list_alerts
from server.alerts.texts import TEXTS, summary
from server.clock import local_minute, utcnow
from server.db import reading, writing
from server.models import OrgUnit, User, table_of

log = logging.getLogger(__name__)
_HERE = Path(__file__).parent / "templates"
_html = jinja2.Environment(loader=jinja2.FileSystemLoader(_HERE), autoescape=True, undefined=jinja2.StrictUndefined,
                           trim_blocks=True, lstrip_blocks=True)
_text = jinja2.Environment(loader=jinja2.FileSystemLoader(_HERE), autoescape=False,  # noqa: S701 (plain text)
                           undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
RECIPIENT_ROLES = ("officer", "admin")


@dataclass(frozen=True)
class Digest:
    """The digest of one user."""

    username: str
    mail: Mail
    alert_ids: tuple[int, ...]


@dataclass
class DigestRun:
    """What a run did: digests sent, users with nothing new, digests that could not be sent."""

    sent: list[tuple[str, int]] = field(default_factory=list)
    nothing_new: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """For ``--json``."""
        return {"sent": [{"username": u, "alerts": n} for u, n in self.sent], "nothing_new": self.nothing_new,
                "failed": self.failed, "error": self.error}


def subtree(session: Session, unit_id: int) -> set[str]:
    """The codes of a unit and every unit below it."""
    rows = session.execute(sa.select(table_of(OrgUnit).c.id, table_of(OrgUnit).c.code,
                                     table_of(OrgUnit).c.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    codes = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row.id)
        codes[row.id] = row.code
    found, todo = set(), [unit_id]
    while todo:
        current = todo.pop()
        if current in codes and codes[current] not in found:
            found.add(codes[current])
            todo.extend(children.get(current, []))
    return found


def compose(user: User, lines: list[AlertLine], scope: str | None, now: datetime, tz: tzinfo,
            public_url: str | None = None) -> Mail:
    """The digest message of ``user`` for ``lines`` (newest first), in the user's language; with the console's
    ``public_url``, links to its alerts page and to each alert's device."""
    lang = user.lang if user.lang in TEXTS else "vi"
    words = TEXTS[lang]

    def t(key: str, **values: object) -> str:
        return words[key].format(**values) if values else words[key]

    district = t("alert_district_wide")
    alerts = [{"opened": local_minute(a.opened_at, tz), "rule": t(f"rule:{a.rule}"), "device": a.device_name,
               "unit": a.unit_name or district, "summary": summary(a.rule, a.subject, a.detail),
               "link": f"{public_url}/devices/{a.device_id}" if public_url and a.device_id is not None else None}
              for a in reversed(lines)]  # oldest first reads as a story
    scope_text = scope or t("mail_scope_all")
    subject = t("mail_subject", count=len(lines), scope=scope_text)
    context = {"t": t, "lang": lang, "user": user.username, "at": local_minute(now, tz), "scope": scope_text,
               "alerts": alerts, "subject": subject, "alerts_url": f"{public_url}/alerts" if public_url else None}
    return Mail(to=user.email or "", subject=subject, text=_text.get_template("digest.txt").render(**context),
                html=_html.get_template("digest.html").render(**context))


def due_digests(session: Session, now: datetime, tz: tzinfo,
                public_url: str | None = None) -> tuple[list[Digest], list[str]]:
    """Every recipient's digest as of ``now``, and the recipients with nothing new."""
    u = table_of(User).c
    ids = session.execute(sa.select(u.id).where(u.disabled.is_(False), u.email.is_not(None),
                                                u.role.in_(RECIPIENT_ROLES)).order_by(u.username)).scalars().all()
    users = [user for user in (session.get(User, i) for i in ids) if user is not None]
    digests, idle = [], []
    for user in users:
        if not user.email:
            continue
        scope_name = None
        units = None
        if user.unit_id is not None:
            units = subtree(session, user.unit_id)
            unit = session.get(OrgUnit, user.unit_id)
            scope_name = unit.name if unit else None
        since = user.digest_sent_at or user.created_at
        lines = list_alerts(session, units=units, states=LIVE, opened_after=since, opened_until=now)
        if not lines:
            idle.append(user.username)
            continue
        mail = compose(user, lines, scope_name, now, tz, public_url)
        digests.append(Digest(user.username, mail, tuple(a.id for a in lines)))
    return digests, idle


def send_digests(engine: Engine, settings: AlertSettings, tz: tzinfo, *, now: datetime | None = None) -> DigestRun:
    """Make and send every due digest; mark the users whose message the server accepted."""
    now = now or utcnow()
    with reading(engine) as session:
        digests, idle = due_digests(session, now, tz, settings.public_url)
    run = DigestRun(nothing_new=idle)
    if not digests:
        return run
    try:
        accepted = set(send(settings, [d.mail for d in digests]))
    except MailError as exc:
        log.error("alert digests not sent: %s", exc)
        run.failed = [d.username for d in digests]
        run.error = str(exc)
        return run
    done = [d for d in digests if d.mail.to in accepted]
    run.failed = [d.username for d in digests if d.mail.to not in accepted]
    if done:
        with writing(engine) as session:
            session.execute(sa.update(table_of(User)).where(table_of(User).c.username.in_([d.username for d in done]))
                            .values(digest_sent_at=now))
    run.sent = [(d.username, len(d.alert_ids)) for d in done]
    return run
