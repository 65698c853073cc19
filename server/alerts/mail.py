"""E-mail through the configured SMTP server: STARTTLS with the certificate verified, the password only over TLS.

Messages are built with the standard library's ``email`` package (plain text and an HTML alternative) and sent
with ``smtplib``; one connection carries every message of a run.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from server.alerts.config import AlertSettings


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the message."""


@dataclass(frozen=True)
class Mail:
    """One message to one person."""

    to: str
    subject: str
    text: str
    html: str


def build(mail: Mail, sender: str) -> EmailMessage:
    """The MIME message: plain text first, HTML as the alternative."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies back to the server
    message.set_content(mail.text, charset="utf-8")
    message.add_alternative(mail.html, subtype="html", charset="utf-8")
    return message


def tls_context(settings: AlertSettings) -> ssl.SSLContext:
    """Verification on: the system's CAs, or the configured CA file for a private mail server."""
    return ssl.create_default_context(cafile=settings.smtp_ca_file)


def send(settings: AlertSettings, mails: Sequence[Mail]) -> list[str]:
    """Send every message over one connection; returns the recipients that were accepted.

    MailError when the server cannot be reached, refuses STARTTLS, the certificate or the credentials; a
    single refused recipient does not stop the others.
    """
    if not settings.smtp_host:
        raise MailError("no SMTP server configured (KIEMKE_SMTP_HOST)")
    if not mails:
        return []
    sent: list[str] = []
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
            smtp.ehlo()
            if settings.smtp_starttls:
                smtp.starttls(context=tls_context(settings))
                smtp.ehlo()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            for mail in mails:
                try:
                    smtp.send_message(build(mail, settings.smtp_from))
                except smtplib.SMTPRecipientsRefused:
                    continue
                sent.append(mail.to)
    except (OSError, smtplib.SMTPException) as exc:
        if sent:
            return sent
        raise MailError(f"cannot send through {settings.smtp_host}:{settings.smtp_port}: {exc}") from exc
    return sent
