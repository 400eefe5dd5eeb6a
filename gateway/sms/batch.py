"""Deciding received messages in batches: claim, read in sets, decide in memory, write in bulk.

A batch is claimed (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite, candidates are read
without the write lock, then re-checked under one ``BEGIN IMMEDIATE``), and everything it
decides (outcomes, charges, temporary passwords, replies, notices, audit rows) is written in
that one transaction: a batch commits or not. Parsing, reply texts and the keyed hashes of new
temporary passwords are worked out before the lock, so SQLite's lock is held for the reads that
must be current (accounts, limits) and the writes only. The decision itself is
:func:`gateway.sms.rules.decide`, fed with what the batch read; when a batch fails,
:mod:`gateway.sms.recovery` runs this same path with one message at a time (``ids``), and
closes a message that keeps failing with :func:`record_failure`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from billing.outcomes import RECOVERY, Outcome
from gateway.accounts.passwords import keyed_hash
from gateway.accounts.services import AccountView, find_accounts
from gateway.delivery.replies import PASSWORD_MASK, Reply, ReplyCatalog, format_wait
from gateway.errors import BatchFailed
from gateway.models import InboundMessage
from gateway.ops.switches import SMS_RESET, is_enabled, services_off
from gateway.settings import Settings
from gateway.sms.batch_store import Charged, Writes, read_counts, render_notices
from gateway.sms.rules import Facts, Prepared, decide, system_error
from gateway.sms.sim_swap import SimSwapChecks, Verdict, record_check, refusal
from gateway.states import MessageStatus, check_transition
from parsers import (
    KeywordTable,
    ParseFailure,
    RecoveryRequest,
    ServiceFailure,
    ServiceRequest,
    generate_sms_password,
    parse_recovery,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Context:
    """What processing needs besides the session: settings, replies, switches, the time."""

    settings: Settings
    catalog: ReplyCatalog
    sms_reset_enabled: bool
    now: dt.datetime
    # The carriers' SIM swap checks (None: no carrier has one); see gateway/sms/sim_swap.py.
    sim_swap: SimSwapChecks | None = None
    # The keyword services' keywords (empty: none configured, BH MK alone).
    keywords: KeywordTable | None = None
    # The services whose switch is off, read with the SMS reset's.
    services_off: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Batch:
    """What one batch did: the messages it looked at, and the charges it committed."""

    looked_at: int
    charged: list[Charged]


def process_batch(
    session_factory: sessionmaker[Session],
    context: Context,
    limit: int,
    ids: Sequence[int] | None = None,
) -> Batch:
    """Decide up to ``limit`` received messages (of ``ids`` only, if given) in one transaction.

    ``context.sms_reset_enabled`` is the setting; a switch in the database overrides it.
    Raises BatchFailed, with the ids claimed, when the batch could not be written.
    """
    query = _received(limit)
    if ids is not None:
        query = query.where(InboundMessage.id.in_(ids))
    if session_factory.kw["bind"].dialect.name == "postgresql":
        return _on_postgresql(session_factory, context, query)
    return _on_sqlite(session_factory, context, query)


def record_failure(
    session_factory: sessionmaker[Session], context: Context, message_id: int, error: str
) -> list[Charged]:
    """Count a failed attempt at one message; at GATEWAY_WORKER_MAX_ATTEMPTS, close it as
    system_error (charged, apologised to). Return its charge if it was closed."""
    m = InboundMessage
    writes = Writes(context.settings, context.now)
    with session_factory.begin() as session:
        session.execute(
            update(m).where(m.id == message_id).values(attempts=m.attempts + 1, last_error=error)
        )
        tried = m.attempts >= context.settings.worker_max_attempts
        query = _received(1).where(m.id == message_id, tried).with_for_update(skip_locked=True)
        messages = session.execute(query).all()
        if messages:
            check_transition(MessageStatus.RECEIVED, MessageStatus.PROCESSED)
            failed = system_error(context.catalog)
            for message in messages:
                # Priced as what it asked for: a keyword service has its own tariff.
                asked = context.keywords.match(message.text) if context.keywords else None
                service = RECOVERY if asked is None else asked.service
                writes.decide(message, failed.outcome, failed.reply, service=service)
            writes.flush(session)
    return writes.charged


def _on_sqlite(
    session_factory: sessionmaker[Session], context: Context, query: Select[Any]
) -> Batch:
    with session_factory() as session:
        # Read without the write lock: the webhook keeps storing messages meanwhile.
        session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        messages = session.execute(query).all()
        if not messages:
            return Batch(0, [])
        ctx = _with_switch(session, context)
        ids = [message.id for message in messages]
        try:
            prepared = _prepare(messages, ctx)
            # The notices to the emails on file as they are now; re-read under the lock,
            # and rendered again there only if an address changed meanwhile.
            seen = find_accounts(session, _identifiers(prepared))
            notices = render_notices(seen.values(), ctx.settings, ctx.now)
        except Exception as exc:
            raise BatchFailed(ids, ctx.sms_reset_enabled) from exc
    # The carriers are asked before the write lock is taken, never under it.
    verdicts = _check_sims(prepared, seen, ctx)
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
            charged = _decide(session, batch, ctx, notices, verdicts)
    except Exception as exc:
        raise BatchFailed(ids, ctx.sms_reset_enabled) from exc
    return Batch(len(ids), charged)


def _on_postgresql(
    session_factory: sessionmaker[Session], context: Context, query: Select[Any]
) -> Batch:
    ids: list[int] = []
    ctx = context
    try:
        with session_factory.begin() as session:
            ctx = _with_switch(session, context)
            messages = session.execute(query.with_for_update(skip_locked=True)).all()
            ids = [message.id for message in messages]
            if not ids:
                return Batch(0, [])
            # Other workers skip the rows locked here, so preparing (and asking the carriers
            # about SIM swaps, bounded by GATEWAY_SIM_SWAP_TIMEOUT) under the lock costs them
            # nothing; the phones' advisory locks are taken only after, in _read_facts.
            prepared = _prepare(messages, ctx)
            verdicts = (
                _check_sims(prepared, find_accounts(session, _identifiers(prepared)), ctx)
                if ctx.sim_swap is not None
                else {}
            )
            charged = _decide(session, prepared, ctx, verdicts=verdicts)
    except Exception as exc:
        if not ids:
            raise  # nothing claimed: the database itself is failing
        raise BatchFailed(ids, ctx.sms_reset_enabled) from exc
    return Batch(len(ids), charged)


def _with_switch(session: Session, context: Context) -> Context:
    enabled = is_enabled(session, SMS_RESET, default=context.sms_reset_enabled)
    off = services_off(session) if context.keywords else frozenset()
    return dataclasses.replace(context, sms_reset_enabled=enabled, services_off=off)


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
    ttl = format_wait(settings.temp_password_ttl)
    prepared = []
    for message in messages:
        service = ctx.keywords.match(message.text) if ctx.keywords else None
        if service is not None:
            item = Prepared(message, service, service=service.service)
            if isinstance(service, ServiceFailure):
                failure = catalog.render_syntax(service.service)
                item.reply = (failure, failure)
            prepared.append(item)
            continue
        parsed = parse_recovery(
            message.text,
            accept_bhxh=settings.accept_bhxh,
            accept_personal_id=settings.accept_personal_id,
        )
        item = Prepared(message, parsed)
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


def _check_sims(
    prepared: list[Prepared], accounts: Mapping[str, AccountView], ctx: Context
) -> dict[tuple[str, str], Verdict]:
    """Ask the carriers about the senders whose reset may be sent (the number matched their
    phone): one call per (carrier, phone), all at once. Never raises."""
    if ctx.sim_swap is None or not ctx.sms_reset_enabled:
        return {}
    senders = []
    for item in prepared:
        if isinstance(item.parsed, RecoveryRequest):
            account = accounts.get(item.parsed.identifier)
            if account is not None and account.usable_from(item.message.sender):
                senders.append((item.message.carrier, item.message.sender))
    return ctx.sim_swap.verdicts(senders)


def _identifiers(batch: list[Prepared]) -> list[str]:
    return [item.parsed.identifier for item in batch if isinstance(item.parsed, RecoveryRequest)]


def _decide(
    session: Session,
    batch: list[Prepared],
    ctx: Context,
    notices: dict[tuple[str, str], dict[str, object]] | None = None,
    verdicts: Mapping[tuple[str, str], Verdict] | None = None,
) -> list[Charged]:
    if not batch:
        return []
    check_transition(MessageStatus.RECEIVED, MessageStatus.PROCESSED)
    verdicts = verdicts or {}
    refused = {
        sender: (how.outcome, how.reply)
        for sender, verdict in verdicts.items()
        if (how := refusal(verdict)) is not None
    }
    facts = _read_facts(session, batch, ctx, refused)
    decisions = decide(batch, facts, settings=ctx.settings, catalog=ctx.catalog)
    writes = Writes(ctx.settings, ctx.now, notices)
    audited: set[tuple[str, str]] = set()
    for item, decision in zip(batch, decisions, strict=True):
        account = decision.account
        sender = (item.message.carrier, item.message.sender)
        if sender in verdicts and sender not in audited and account is not None:
            audited.add(sender)
            record_check(
                session,
                verdicts[sender],
                carrier=sender[0],
                phone=sender[1],
                now=ctx.now,
                max_age_hours=ctx.settings.sim_swap.max_age_hours,
                account_id=account.id,
            )
        if decision.outcome is Outcome.RESET_SENT:
            assert account is not None and item.password_hash is not None
            writes.issue(item.message, account, item.password_hash)
        account_id = None if account is None else account.id
        argument = item.parsed.argument if isinstance(item.parsed, ServiceRequest) else None
        writes.decide(
            item.message, decision.outcome, decision.reply, account_id, item.service, argument
        )
    writes.flush(session)
    return writes.charged


def _read_facts(
    session: Session,
    batch: list[Prepared],
    ctx: Context,
    refused: Mapping[tuple[str, str], tuple[Outcome, Reply]],
) -> Facts:
    """Read, under the lock, everything the rules need to know besides the messages (and the
    SIM swap refusals, asked before the lock)."""
    phones = sorted({item.message.sender for item in batch})
    _lock_phones(session, phones)
    accounts = find_accounts(session, _identifiers(batch))
    ids = {account.id for account in accounts.values()}
    counts = read_counts(session, phones, ids, ctx.settings, ctx.now)
    return Facts(
        reset_enabled=ctx.sms_reset_enabled,
        accounts=accounts,
        counts=counts,
        refused_resets=refused,
        services_off=ctx.services_off,
    )


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
