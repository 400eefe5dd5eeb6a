"""Deciding received messages in batches: claim, read in sets, decide in memory, write in bulk.

A batch is claimed (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite, candidates are read
without the write lock, then re-checked under one ``BEGIN IMMEDIATE``), and everything it
decides (outcomes, charges, temporary passwords, replies, notices, audit rows) is written in
that one transaction: a batch commits or not. Parsing, tariffs, reply texts and the keyed
hashes of new temporary passwords are worked out before the lock, so SQLite's lock is held for
the reads that must be current (accounts, limits) and the writes only. The rules are those of
:mod:`gateway.sms.recovery`, which still decides one message at a time when a batch fails.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session, sessionmaker

from billing.outcomes import Outcome
from billing.tariffs import tariff_book
from gateway.accounts.passwords import keyed_hash
from gateway.accounts.services import AccountView, find_accounts
from gateway.delivery.replies import PASSWORD_MASK, Reply, ReplyCatalog, format_wait
from gateway.errors import BatchFailed
from gateway.models import InboundMessage
from gateway.ops.switches import SMS_RESET, is_enabled
from gateway.sms.batch_store import (
    Charged,
    Counts,
    Message,
    Writes,
    read_counts,
    render_notices,
)
from gateway.sms.recovery import Context
from gateway.states import MessageStatus, check_transition
from parsers import ParseFailure, RecoveryRequest, generate_sms_password, parse_recovery

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Prepared:
    """One received message with what can be worked out before any lock."""

    message: Message
    parsed: RecoveryRequest | ParseFailure
    amount_vnd: int
    tariff: str
    reply: tuple[str, str] | None = None  # (text, safe text): syntax help, or the reset reply
    password_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """What one batch did: the messages it looked at, and the charges it committed."""

    looked_at: int
    charged: list[Charged]


def process_batch(session_factory: sessionmaker[Session], context: Context, limit: int) -> Batch:
    """Decide up to ``limit`` received messages in one transaction.

    ``context.sms_reset_enabled`` is the setting; a switch in the database overrides it.
    Raises BatchFailed, with the ids claimed, when the batch could not be written.
    """
    if session_factory.kw["bind"].dialect.name == "postgresql":
        return _on_postgresql(session_factory, context, limit)
    return _on_sqlite(session_factory, context, limit)


def _on_sqlite(session_factory: sessionmaker[Session], context: Context, limit: int) -> Batch:
    with session_factory() as session:
        # Read without the write lock: the webhook keeps storing messages meanwhile.
        session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        messages = session.execute(_received(limit)).all()
        if not messages:
            return Batch(0, [])
        ctx = _with_switch(session, context)
        ids = [message.id for message in messages]
        try:
            prepared = _prepare(messages, ctx)
            # The notices to the emails on file as they are now; re-read under the lock,
            # and rendered again there only if an address changed meanwhile.
            seen = find_accounts(session, _identifiers(prepared)).values()
            notices = render_notices(seen, ctx.settings, ctx.now)
        except Exception as exc:
            raise BatchFailed(ids, ctx.sms_reset_enabled) from exc
    try:
        with session_factory.begin() as session:
            # Another worker may have decided some of them since they were read.
            still = set(
                session.scalars(
                    select(InboundMessage.id).where(
                        InboundMessage.id.in_(ids), InboundMessage.status == MessageStatus.RECEIVED
                    )
                )
            )
            batch = [item for item in prepared if item.message.id in still]
            charged = _decide(session, batch, ctx, notices)
    except Exception as exc:
        raise BatchFailed(ids, ctx.sms_reset_enabled) from exc
    return Batch(len(ids), charged)


def _on_postgresql(session_factory: sessionmaker[Session], context: Context, limit: int) -> Batch:
    ids: list[int] = []
    ctx = context
    try:
        with session_factory.begin() as session:
            ctx = _with_switch(session, context)
            query = _received(limit).with_for_update(skip_locked=True)
            messages = session.execute(query).all()
            ids = [message.id for message in messages]
            # Other workers skip the rows locked here, so preparing under the lock costs them
            # nothing.
            charged = _decide(session, _prepare(messages, ctx), ctx)
    except Exception as exc:
        if not ids:
            raise  # nothing claimed: the database itself is failing
        raise BatchFailed(ids, ctx.sms_reset_enabled) from exc
    return Batch(len(ids), charged)


def _with_switch(session: Session, context: Context) -> Context:
    enabled = is_enabled(session, SMS_RESET, default=context.sms_reset_enabled)
    return Context(context.settings, context.catalog, enabled, context.now)


def _received(limit: int) -> Select[Any]:
    m = InboundMessage
    columns = (m.id, m.carrier, m.carrier_message_id, m.sender, m.recipient, m.text, m.route)
    return (
        select(*columns, m.carrier_received_at, m.created_at)
        .where(m.status == MessageStatus.RECEIVED)
        .order_by(m.id)
        .limit(limit)
    )


def _prepare(messages: Sequence[Any], ctx: Context) -> list[Prepared]:
    settings, catalog = ctx.settings, ctx.catalog
    book = tariff_book(
        settings.tariffs_file, tuple(settings.carriers), settings.shortcode, settings.charge_vnd
    )
    ttl = format_wait(settings.temp_password_ttl)
    prepared = []
    for message in messages:
        # The carrier bills by its own time of the message, at the tariff in force then.
        message_at = message.carrier_received_at or message.created_at
        tariff = book.price(message.carrier, message.recipient, message_at, settings.charge_vnd)
        parsed = parse_recovery(
            message.text,
            accept_bhxh=settings.accept_bhxh,
            accept_personal_id=settings.accept_personal_id,
        )
        item = Prepared(message, parsed, tariff.amount_vnd, tariff.label)
        if isinstance(parsed, ParseFailure):
            failure = catalog.render_failure(parsed)
            item.reply = (failure, failure)
        else:  # the password in case it is due: a few microseconds, wasted if it is not
            password = generate_sms_password()
            item.password_hash = keyed_hash(settings.secret_key, password)
            item.reply = (
                catalog.render(
                    Reply.RESET_SENT, account=parsed.identifier, password=password, ttl=ttl
                ),
                catalog.render(
                    Reply.RESET_SENT, account=parsed.identifier, password=PASSWORD_MASK, ttl=ttl
                ),
            )
        prepared.append(item)
    return prepared


def _identifiers(batch: list[Prepared]) -> list[str]:
    return [item.parsed.identifier for item in batch if isinstance(item.parsed, RecoveryRequest)]


def _decide(
    session: Session,
    batch: list[Prepared],
    ctx: Context,
    notices: dict[tuple[str, str], dict[str, object]] | None = None,
) -> list[Charged]:
    if not batch:
        return []
    check_transition(MessageStatus.RECEIVED, MessageStatus.PROCESSED)
    phones = sorted({item.message.sender for item in batch})
    _lock_phones(session, phones)
    accounts = find_accounts(session, _identifiers(batch))
    counts = read_counts(session, phones, {a.id for a in accounts.values()}, ctx.settings, ctx.now)
    writes = Writes(ctx.settings, ctx.now, notices)
    for item in batch:  # in id order: earlier messages count against later ones
        outcome, reply, account = _decide_one(item, accounts, counts, ctx)
        if outcome is Outcome.RESET_SENT:
            assert account is not None and item.password_hash is not None
            writes.issue(item.message, account, item.password_hash)
        account_id = None if account is None else account.id
        writes.decide(item.message, outcome, item.amount_vnd, item.tariff, reply, account_id)
    writes.flush(session)
    return writes.charged


def _lock_phones(session: Session, phones: list[str]) -> None:
    # Limits count earlier messages of a sender: two workers must not both count "4 of 5" for
    # one phone. Only the registered phone can reset, so this covers the account too. Every
    # worker takes them in the same (sorted) order, so two batches never wait in a circle.
    # SQLite needs none: BEGIN IMMEDIATE already lets one writer at a time in.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) k"),
            {"keys": [int(phone) for phone in phones]},
        )


def _decide_one(
    item: Prepared, accounts: dict[str, AccountView], counts: Counts, ctx: Context
) -> tuple[Outcome, tuple[str, str] | None, AccountView | None]:
    """Decide one message against the batch's counts, and count it; the caller writes."""
    settings, catalog = ctx.settings, ctx.catalog
    sender = item.message.sender
    seen = counts.per_phone.get(sender, 0)
    counts.per_phone[sender] = seen + 1  # whatever its outcome, it counts against the next
    if seen >= settings.messages_per_phone:
        # One rate_limited reply per window, then silence: an auto-responder cannot loop.
        if sender in counts.phones_told:
            return Outcome.RATE_LIMITED, None, None
        counts.phones_told.add(sender)
        return (
            Outcome.RATE_LIMITED,
            _fixed(catalog, Reply.RATE_LIMITED, settings.phone_window),
            None,
        )
    if not ctx.sms_reset_enabled:
        return Outcome.SERVICE_DISABLED, _fixed(catalog, Reply.SERVICE_DISABLED), None
    parsed = item.parsed
    if isinstance(parsed, ParseFailure):
        return Outcome.WRONG_SYNTAX, item.reply, None
    account = accounts.get(parsed.identifier)
    if account is None or not account.usable_from(sender):
        return Outcome.NOT_MATCHED, _fixed(catalog, Reply.NOT_MATCHED), None
    issued = counts.per_account.get(account.id, 0)
    if issued >= settings.resets_per_account:
        if account.id in counts.accounts_told:
            return Outcome.RATE_LIMITED, None, account
        counts.accounts_told.add(account.id)
        counts.phones_told.add(sender)  # the phone's own check counts this notice too
        reply = _fixed(catalog, Reply.RATE_LIMITED, settings.resets_window)
        return Outcome.RATE_LIMITED, reply, account
    counts.per_account[account.id] = issued + 1
    return Outcome.RESET_SENT, item.reply, account


@functools.lru_cache(maxsize=32)
def _fixed(
    catalog: ReplyCatalog, reply: Reply, wait: dt.timedelta | None = None
) -> tuple[str, str]:
    """A reply without a secret or a per-message value, rendered once per process."""
    text_ = catalog.render(reply) if wait is None else catalog.render(reply, wait=format_wait(wait))
    return text_, text_
