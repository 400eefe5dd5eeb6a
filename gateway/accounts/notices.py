"""Messages that answer no inbound SMS: OTPs, first passwords and notices, by SMS and email.

A recovery never emails a password: the email channel ends in a restricted session instead.

Each function queues its messages in the outbox in the caller's transaction, so they leave
exactly once, if and only if the event they report is committed.
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata

from sqlalchemy.orm import Session

from gateway.delivery.emails import EmailCatalog, EmailKind, local_time
from gateway.delivery.outbox import email_row, enqueue, sms_row
from gateway.delivery.replies import PASSWORD_MASK, Reply, ReplyCatalog
from gateway.models import Account, OutboxMessage
from gateway.settings import Settings
from gateway.states import Channel
from parsers import home_carrier, mask_email, mask_phone

log = logging.getLogger(__name__)


def email_catalog(settings: Settings) -> EmailCatalog:
    """Return the email templates filled with this deployment's portal link and hotline."""
    return EmailCatalog(portal_url=settings.portal_url, hotline=settings.hotline)


def send_otp(
    session: Session,
    account: Account,
    address: str,
    code: str,
    *,
    kind: EmailKind,
    settings: Settings,
    now: dt.datetime,
) -> None:
    """Email an OTP (for recovery, or to confirm a new address)."""
    minutes = str(int(settings.otp_ttl.total_seconds() // 60))
    values = {"account": account.bhxh, "otp": code, "minutes": minutes}
    send_email(session, address, kind, settings=settings, now=now, **values)


def sms_reset_notice(
    bhxh: str, address: str, settings: Settings, now: dt.datetime
) -> dict[str, object]:
    """Return the outbox row of the SMS-reset notice to ``address``, for bulk inserts too."""
    email = email_catalog(settings).render(
        EmailKind.SMS_RESET,
        account=bhxh,
        when=local_time(now),
        minutes=str(max(1, int(settings.temp_password_ttl.total_seconds() // 60))),
    )
    return email_row(address, email, settings=settings, now=now)


def send_first_password(
    session: Session,
    account: Account,
    password: str,
    *,
    channel: Channel,
    settings: Settings,
    catalog: ReplyCatalog,
    now: dt.datetime,
) -> bool:
    """Send a newly approved account its first password; False if no carrier can take the SMS."""
    if channel is Channel.EMAIL:
        assert account.email is not None
        send_email(
            session,
            account.email,
            EmailKind.FIRST_PASSWORD,
            settings=settings,
            now=now,
            account=account.bhxh,
            code=password,  # single use, restricted: it only leads to "set your password"
            activation_url=f"{settings.portal_url}/kich-hoat",
            hours=_hours(settings.first_password_ttl),
        )
        return True
    row = enqueue_sms(
        session,
        account.phone,
        text=catalog.render(Reply.FIRST_PASSWORD, account=account.bhxh, password=password),
        safe_text=catalog.render(
            Reply.FIRST_PASSWORD, account=account.bhxh, password=PASSWORD_MASK
        ),
        settings=settings,
        now=now,
    )
    return row is not None


def notify_password_changed(
    session: Session,
    account: Account,
    *,
    settings: Settings,
    catalog: ReplyCatalog,
    now: dt.datetime,
    email_too: bool = True,
) -> None:
    """Tell the phone and the email on file that the password changed (never the password)."""
    addresses = [account.email] if email_too else []
    _tell(
        session,
        account,
        Reply.PASSWORD_CHANGED,
        EmailKind.PASSWORD_CHANGED,
        addresses,
        settings=settings,
        catalog=catalog,
        now=now,
    )


def notify_email_changed(
    session: Session,
    account: Account,
    old: str | None,
    *,
    settings: Settings,
    catalog: ReplyCatalog,
    now: dt.datetime,
) -> None:
    """Tell every channel on file that the email was added or changed: the phone, the old
    address (with the new one masked) and the new address. No secret in any of them."""
    assert account.email is not None
    _text(session, account, Reply.EMAIL_CHANGED, settings=settings, catalog=catalog, now=now)
    said = {"account": account.bhxh, "when": local_time(now)}
    if old and old.lower() != account.email.lower():
        to_old = {**said, "new_email": mask_email(account.email)}
        send_email(session, old, EmailKind.EMAIL_CHANGED, settings=settings, now=now, **to_old)
    send_email(session, account.email, EmailKind.EMAIL_ADDED, settings=settings, now=now, **said)


def notify_everywhere(
    session: Session,
    account: Account,
    reply: Reply,
    kind: EmailKind,
    *,
    settings: Settings,
    catalog: ReplyCatalog,
    now: dt.datetime,
    also_to: str | None = None,
    **values: str,
) -> None:
    """Tell the phone and the email on file (and ``also_to``) of a change to what protects
    the account: a passkey added or removed, a recovery, an address removed. No secret."""
    _tell(
        session,
        account,
        reply,
        kind,
        [account.email, also_to],
        settings=settings,
        catalog=catalog,
        now=now,
        **values,
    )


def enqueue_sms(
    session: Session,
    phone: str,
    *,
    text: str,
    safe_text: str,
    settings: Settings,
    now: dt.datetime,
) -> OutboxMessage | None:
    """Queue an SMS that answers no inbound message (a notice, a first password); None when
    no carrier is configured.

    With no message to answer, the phone's home prefix picks the carrier when we have a
    connection to it, else GATEWAY_DEFAULT_CARRIER (the first configured one when unset).
    Numbers may have been ported, so this is a best guess (DOMAIN.md, "Number portability").
    """
    carrier = home_carrier(phone)
    if carrier not in settings.carriers:
        carrier = settings.default_carrier or next(iter(settings.carriers), None)
    if carrier is None:
        log.warning("no carrier configured: SMS to %s not queued", mask_phone(phone))
        return None
    row = sms_row(
        phone, carrier=carrier, text=text, safe_text=safe_text, settings=settings, now=now
    )
    return enqueue(session, row)


def send_email(
    session: Session,
    address: str,
    kind: EmailKind,
    *,
    settings: Settings,
    now: dt.datetime,
    **values: str,
) -> None:
    """Queue one email of the catalog to ``address``, filled with ``values``."""
    email = email_catalog(settings).render(kind, **values)
    enqueue(session, email_row(address, email, settings=settings, now=now))
    log.info("queued %s email to %s", kind.value, mask_email(address))


def _tell(
    session: Session,
    account: Account,
    reply: Reply,
    kind: EmailKind,
    addresses: list[str | None],
    *,
    settings: Settings,
    catalog: ReplyCatalog,
    now: dt.datetime,
    **values: str,
) -> None:
    """Text the phone, then email each address once, of one event on the account."""
    _text(session, account, reply, settings=settings, catalog=catalog, now=now, **values)
    said = {"account": account.bhxh, "when": local_time(now), **values}
    for address in {a for a in addresses if a}:
        send_email(session, address, kind, settings=settings, now=now, **said)


def _text(
    session: Session,
    account: Account,
    reply: Reply,
    *,
    settings: Settings,
    catalog: ReplyCatalog,
    now: dt.datetime,
    **values: str,
) -> None:
    # The SMS names only the method, unaccented to stay GSM-7; the emails may say more.
    method = {k: _unaccented(v) for k, v in values.items() if k == "method"}
    text = catalog.render(reply, account=account.bhxh, **method)
    enqueue_sms(session, account.phone, text=text, safe_text=text, settings=settings, now=now)


def _unaccented(text: str) -> str:
    """Drop Vietnamese diacritics for the SMS copy (đ is its own letter, not a mark)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _hours(ttl: dt.timedelta) -> str:
    return str(max(1, int(ttl.total_seconds() // 3600)))
