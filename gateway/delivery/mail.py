"""The mail port: an SMTP relay in production, an in-memory mailbox in tests.

``SmtpMailer.send`` makes one SMTP session with a timeout and turns smtplib's errors into ours:
4xx answers and connection failures are retryable, 5xx answers are permanent. The outbox
decides what happens next, as it does for SMS.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from typing import Protocol

from gateway.carriers.base import SendReceipt
from gateway.carriers.fake import Recorder
from gateway.delivery import dkim_signing
from gateway.errors import PermanentSendError, RetryableSendError, SendError
from gateway.settings import SmtpSettings


@dataclass(frozen=True, slots=True)
class OutboundEmail:
    """An email to hand to the relay: plain text and HTML alternatives of one message."""

    reference: str  # our outbox id
    message_id: str  # the same on every attempt, so a receiver can drop a repeat
    sender: str
    recipient: str
    subject: str
    text: str
    html: str | None
    date: dt.datetime


class Mailer(Protocol):
    """Hands emails to a relay."""

    def send(self, email: OutboundEmail) -> SendReceipt:
        """Send one email; raise RetryableSendError or PermanentSendError when refused."""
        ...


def message_id_for(reference: str, created_at: dt.datetime, sender: str) -> str:
    """Return the Message-ID of an outbox row: stable across retries, unique across databases."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<outbox.{reference}.{int(created_at.timestamp())}@{domain}>"


def build_message(email: OutboundEmail) -> EmailMessage:
    """Build the MIME message: UTF-8 text, with an HTML alternative when there is one."""
    message = EmailMessage(policy=SMTP)
    message["From"] = email.sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Date"] = format_datetime(email.date)
    message["Message-ID"] = email.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders must not answer
    # Quoted-printable, not base64: ASCII (codes, links) stays readable in the raw message,
    # which support staff and the local mail sink show as is.
    message.set_content(email.text, charset="utf-8", cte="quoted-printable")
    if email.html is not None:
        message.add_alternative(email.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


class SmtpMailer:
    """Sends through the SMTP relay of the settings, one connection per email."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    def send(self, email: OutboundEmail) -> SendReceipt:
        """Send one email through the relay."""
        message = build_message(email)
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            raise _translate(exc) from exc
        try:
            if self._settings.security == "starttls":
                # Never fall back to plain text: without STARTTLS this raises, and we retry.
                smtp.starttls(context=ssl.create_default_context())
            if self._settings.user and self._settings.password:
                smtp.login(self._settings.user, self._settings.password)
            if self._settings.dkim is None:
                smtp.send_message(message, to_addrs=[email.recipient])
            else:
                signed = dkim_signing.sign(message.as_bytes(), self._settings.dkim, email.sender)
                smtp.sendmail(parseaddr(email.sender)[1], [email.recipient], signed)
        except (OSError, smtplib.SMTPException) as exc:
            smtp.close()
            raise _translate(exc) from exc
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()  # the relay already took the message; a failed goodbye changes nothing
        return SendReceipt(carrier_reference=email.message_id)

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        if s.security == "tls":
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        return smtplib.SMTP(s.host, s.port, timeout=s.timeout)


def _translate(exc: Exception) -> SendError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(400 <= code < 500 for code in codes):
            return RetryableSendError(f"SMTP recipient refused for now ({codes[0]})")
        return PermanentSendError(f"SMTP recipient refused ({codes[0] if codes else '?'})")
    if isinstance(exc, smtplib.SMTPResponseException):
        if 400 <= exc.smtp_code < 500:
            return RetryableSendError(f"SMTP answered {exc.smtp_code}")
        if 500 <= exc.smtp_code < 600:
            return PermanentSendError(f"SMTP answered {exc.smtp_code}")
        return RetryableSendError(f"SMTP answered {exc.smtp_code}")
    # Refused or dropped connections, timeouts, no STARTTLS offered: the relay may recover.
    return RetryableSendError(f"SMTP connection failed ({type(exc).__name__})")


class FakeMailer(Recorder[OutboundEmail]):
    """A mailbox for tests and local development: keeps every email, or fails on demand."""

    def _receipt(self, item: OutboundEmail) -> SendReceipt:
        return SendReceipt(carrier_reference=item.message_id)

    def to(self, address: str) -> list[OutboundEmail]:
        """Return the emails sent to one address, oldest first."""
        return [email for email in self.sent if email.recipient == address]
