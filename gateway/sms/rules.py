"""The SMS recovery rules, written once: the outcome and the reply of every received message.

:func:`decide` is pure: it takes the messages of a batch (in id order) and what the batch read
before deciding (:class:`Facts`), and returns one :class:`Decision` each; it opens no session,
reads no clock and writes nothing. Every path decides through it: the worker's batches
(:mod:`gateway.sms.batch`) and, when a batch fails, the same batch path with one message at a
time (:mod:`gateway.sms.recovery`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from billing.outcomes import RECOVERY, Outcome
from gateway.accounts.services import AccountView
from gateway.delivery.replies import Reply, ReplyCatalog, format_wait
from gateway.settings import Settings
from parsers import ParseFailure, RecoveryRequest, ServiceFailure, ServiceMatch, ServiceRequest


class Message(Protocol):
    """The columns of a received message that deciding and writing need."""

    id: int
    carrier: str
    carrier_message_id: str
    sender: str
    recipient: str
    route: str | None
    carrier_received_at: dt.datetime | None
    created_at: dt.datetime


@dataclass(slots=True)
class Prepared:
    """One received message with what can be worked out before any lock."""

    message: Message
    parsed: RecoveryRequest | ParseFailure | ServiceMatch
    reply: tuple[str, str] | None = None  # (text, safe text): syntax help, or the reset reply
    password_hash: str | None = None  # the keyed hash of the password in the reset reply
    service: str = RECOVERY  # the keyword service asked for: it prices the message


@dataclass(slots=True)
class Counts:
    """What the limits have used in their windows, per phone and per account, and who has
    already been told (one rate-limit notice per window)."""

    per_phone: dict[str, int] = field(default_factory=dict)
    phones_told: set[str] = field(default_factory=set)
    per_account: dict[int, int] = field(default_factory=dict)
    accounts_told: set[int] = field(default_factory=set)

    def copy(self) -> Counts:
        """Return a copy that can be counted on without touching this one."""
        return Counts(
            dict(self.per_phone),
            set(self.phones_told),
            dict(self.per_account),
            set(self.accounts_told),
        )


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the rules read besides the messages, as the batch found it before deciding.

    A new input is one more field here, read by the batch, and the rule that uses it below.
    """

    reset_enabled: bool  # GATEWAY_SMS_RESET_ENABLED, or the switch in the database over it
    accounts: Mapping[str, AccountView]  # by each identifier asked for that matched one
    counts: Counts  # as of before the batch; the batch's own messages are counted while deciding
    # (carrier, sender) whose reset the SIM swap check refuses: the outcome and reply instead.
    refused_resets: Mapping[tuple[str, str], tuple[Outcome, Reply]] = field(default_factory=dict)
    # Keyword services whose switch is off (set by hand, or tripped by failures in a row).
    services_off: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Decision:
    """One message's outcome, its reply (text, safe text; None: say nothing) and its account."""

    outcome: Outcome
    reply: tuple[str, str] | None = None
    account: AccountView | None = None


def decide(
    batch: Sequence[Prepared], facts: Facts, *, settings: Settings, catalog: ReplyCatalog
) -> list[Decision]:
    """Decide each message of ``batch`` in order: earlier ones count against later ones' limits,
    as if they had been decided one by one."""
    counts = facts.counts.copy()
    return [_decide_one(item, facts, counts, settings, catalog) for item in batch]


def _decide_one(
    item: Prepared, facts: Facts, counts: Counts, settings: Settings, catalog: ReplyCatalog
) -> Decision:
    sender = item.message.sender
    seen = counts.per_phone.get(sender, 0)
    counts.per_phone[sender] = seen + 1  # whatever its outcome, it counts against the next
    if seen >= settings.messages_per_phone:
        # One rate_limited reply per window, then silence: an auto-responder cannot loop.
        if sender in counts.phones_told:
            return Decision(Outcome.RATE_LIMITED)
        counts.phones_told.add(sender)
        said = (
            Reply.TOO_MANY_MESSAGES
            if isinstance(item.parsed, ServiceRequest | ServiceFailure)
            else Reply.RATE_LIMITED  # a reset, or a text we could not read: as ever
        )
        return Decision(Outcome.RATE_LIMITED, _fixed(catalog, said, settings.phone_window))
    parsed = item.parsed
    if isinstance(parsed, ServiceRequest | ServiceFailure):
        return _decide_service(item, parsed, facts, catalog)
    if not facts.reset_enabled:
        return Decision(Outcome.SERVICE_DISABLED, _fixed(catalog, Reply.SERVICE_DISABLED))
    if isinstance(parsed, ParseFailure):
        return Decision(Outcome.WRONG_SYNTAX, item.reply)
    account = facts.accounts.get(parsed.identifier)
    if account is None or not account.usable_from(sender):
        # The same reply for an unknown number and for someone else's phone.
        return Decision(Outcome.NOT_MATCHED, _fixed(catalog, Reply.NOT_MATCHED))
    issued = counts.per_account.get(account.id, 0)
    if issued >= settings.resets_per_account:
        if account.id in counts.accounts_told:
            return Decision(Outcome.RATE_LIMITED, None, account)
        counts.accounts_told.add(account.id)
        counts.phones_told.add(sender)  # the phone's own check counts this notice too
        reply = _fixed(catalog, Reply.RATE_LIMITED, settings.resets_window)
        return Decision(Outcome.RATE_LIMITED, reply, account)
    refused = facts.refused_resets.get((item.message.carrier, sender))
    if refused is not None:  # the SIM changed lately (or its check failed closed)
        outcome, reply = refused
        return Decision(outcome, _fixed(catalog, reply), account)
    counts.per_account[account.id] = issued + 1
    return Decision(Outcome.RESET_SENT, item.reply, account)


def _decide_service(
    item: Prepared, parsed: ServiceMatch, facts: Facts, catalog: ReplyCatalog
) -> Decision:
    """A keyword service's message: its syntax help, "interrupted" while its switch is off, or
    forwarded (no reply yet: the service's answer is the reply, gateway/services/)."""
    if isinstance(parsed, ServiceFailure):
        return Decision(Outcome.WRONG_SYNTAX, item.reply)
    if parsed.service in facts.services_off:
        return Decision(Outcome.INTERRUPTED, _fixed(catalog, Reply.SERVICE_INTERRUPTED))
    return Decision(Outcome.FORWARDED)


def system_error(catalog: ReplyCatalog) -> Decision:
    """The decision for a message that could not be decided: charged, and apologised to."""
    return Decision(Outcome.SYSTEM_ERROR, _fixed(catalog, Reply.SYSTEM_ERROR))


@functools.lru_cache(maxsize=32)
def _fixed(
    catalog: ReplyCatalog, reply: Reply, wait: dt.timedelta | None = None
) -> tuple[str, str]:
    """A reply without a secret or a per-message value, rendered once per process."""
    text = catalog.render(reply) if wait is None else catalog.render(reply, wait=format_wait(wait))
    return text, text
