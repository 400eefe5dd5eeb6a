"""The SMS recovery use case: decide an inbound message's outcome, charge it, answer it.

Everything for one message happens in the caller's transaction: the outcome, the charge,
the new temporary password and the queued reply commit together or not at all, so a worker
that dies half-way leaves the message exactly as it found it.

The worker decides messages in batches by the same rules (gateway/sms/batch.py) and comes
here, one message per transaction, only when a batch fails: a rule changed here must change
there too (the transcripts in tests/integration/sms run through the batch; only the failure
tests reach this path).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from billing.ledger import LedgerEntry, record_charge
from billing.outcomes import Outcome
from billing.tariffs import tariff_book
from gateway.accounts.notices import notify_sms_reset
from gateway.accounts.services import find_account, issue_temporary_password, recent_issues
from gateway.db import lock_for_transaction
from gateway.delivery.outbox import enqueue_reply
from gateway.delivery.replies import (
    PASSWORD_MASK,
    Reply,
    ReplyCatalog,
    format_wait,
)
from gateway.models import AccountState, InboundMessage
from gateway.ops.audit import record_event
from gateway.settings import Settings
from gateway.states import MessageStatus, check_transition
from parsers import ParseFailure, mask_phone, parse_recovery

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Context:
    """What processing needs besides the session: settings, replies, switches, the time."""

    settings: Settings
    catalog: ReplyCatalog
    sms_reset_enabled: bool
    now: dt.datetime


@dataclass(frozen=True, slots=True)
class _Decision:
    outcome: Outcome
    reply: str | None = None
    safe_reply: str | None = None


def process_message(session: Session, message: InboundMessage, ctx: Context) -> LedgerEntry:
    """Give one received message its outcome, charge, reply and audit row; return the charge."""
    charge = _finish(session, message, _decide(session, message, ctx), ctx)
    assert message.outcome is not None
    record_event(
        session,
        action="recovery",
        channel="sms",
        outcome=message.outcome.value,
        subject=mask_phone(message.sender),
        account_id=message.account_id,
        detail=f"via {message.carrier}",
        now=ctx.now,
    )
    return charge


def fail_message(session: Session, message: InboundMessage, ctx: Context) -> LedgerEntry:
    """Close a message that could not be processed: charged, marked system_error, apologised to."""
    reply = ctx.catalog.render(Reply.SYSTEM_ERROR)
    return _finish(session, message, _Decision(Outcome.SYSTEM_ERROR, reply, reply), ctx)


def _decide(session: Session, message: InboundMessage, ctx: Context) -> _Decision:
    settings, catalog, now = ctx.settings, ctx.catalog, ctx.now
    # Limits count earlier messages of the sender: two workers must not both count "2 of 3"
    # for the same phone. Only the registered phone can reset, so this covers the account too.
    lock_for_transaction(session, int(message.sender))
    if _phone_over_limit(session, message, settings, now):
        return _limited(session, message, catalog, settings.phone_window, now, by_account=False)
    if not ctx.sms_reset_enabled:
        text = catalog.render(Reply.SERVICE_DISABLED)
        return _Decision(Outcome.SERVICE_DISABLED, text, text)
    parsed = parse_recovery(
        message.text,
        accept_bhxh=settings.accept_bhxh,
        accept_personal_id=settings.accept_personal_id,
    )
    if isinstance(parsed, ParseFailure):
        text = catalog.render_failure(parsed)
        return _Decision(Outcome.WRONG_SYNTAX, text, text)
    account = find_account(session, parsed.identifier)
    if (
        account is None
        or account.state is not AccountState.ACTIVE
        or account.phone != message.sender
    ):
        text = catalog.render(Reply.NOT_MATCHED)
        return _Decision(Outcome.NOT_MATCHED, text, text)
    message.account_id = account.id
    since = now - settings.resets_window
    if recent_issues(session, account.id, since) >= settings.resets_per_account:
        return _limited(session, message, catalog, settings.resets_window, now, by_account=True)
    password = issue_temporary_password(
        session, account, settings=settings, now=now, channel="sms", message_id=message.id
    )
    notify_sms_reset(session, account, settings=settings, now=now)
    ttl = format_wait(settings.temp_password_ttl)
    return _Decision(
        Outcome.RESET_SENT,
        catalog.render(Reply.RESET_SENT, account=parsed.identifier, password=password, ttl=ttl),
        catalog.render(
            Reply.RESET_SENT, account=parsed.identifier, password=PASSWORD_MASK, ttl=ttl
        ),
    )


def _phone_over_limit(
    session: Session, message: InboundMessage, settings: Settings, now: dt.datetime
) -> bool:
    query = select(func.count(InboundMessage.id)).where(
        InboundMessage.sender == message.sender,
        InboundMessage.processed_at > now - settings.phone_window,
    )
    return (session.scalar(query) or 0) >= settings.messages_per_phone


def _limited(
    session: Session,
    message: InboundMessage,
    catalog: ReplyCatalog,
    window: dt.timedelta,
    now: dt.datetime,
    *,
    by_account: bool,
) -> _Decision:
    # One rate_limited reply per window, then silence: an auto-responder cannot loop with us.
    key = (
        InboundMessage.account_id == message.account_id
        if by_account
        else InboundMessage.sender == message.sender
    )
    already_told = session.scalar(
        select(
            exists().where(
                key,
                InboundMessage.outcome == Outcome.RATE_LIMITED,
                InboundMessage.replied.is_(True),
                InboundMessage.processed_at > now - window,
            )
        )
    )
    if already_told:
        return _Decision(Outcome.RATE_LIMITED)
    text = catalog.render(Reply.RATE_LIMITED, wait=format_wait(window))
    return _Decision(Outcome.RATE_LIMITED, text, text)


def _finish(
    session: Session, message: InboundMessage, decision: _Decision, ctx: Context
) -> LedgerEntry:
    settings, now = ctx.settings, ctx.now
    check_transition(message.status, MessageStatus.PROCESSED)
    # The carrier bills by its own time of the message, at the tariff in force then.
    message_at = message.carrier_received_at or message.created_at
    book = tariff_book(
        settings.tariffs_file, tuple(settings.carriers), settings.shortcode, settings.charge_vnd
    )
    tariff = book.price(message.carrier, message.recipient, message_at, settings.charge_vnd)
    # The carrier bills every message sent to the shortcode, whatever we make of it.
    charge = record_charge(
        session,
        message_id=message.id,
        carrier=message.carrier,
        carrier_message_id=message.carrier_message_id,
        shortcode=message.recipient,
        phone=message.sender,
        amount_vnd=tariff.amount_vnd,
        outcome=decision.outcome,
        tariff=tariff.label,
        at=now,
        message_at=message_at,
    )
    if decision.reply is not None and decision.safe_reply is not None:
        enqueue_reply(
            session,
            message,
            text=decision.reply,
            safe_text=decision.safe_reply,
            settings=settings,
            now=now,
        )
    message.replied = decision.reply is not None
    message.status = MessageStatus.PROCESSED
    message.outcome = decision.outcome
    message.processed_at = now
    log.info(
        "message %s from %s via %s: %s",
        message.id,
        mask_phone(message.sender),
        message.carrier,
        decision.outcome.value,
    )
    return charge
