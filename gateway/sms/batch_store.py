"""A batch's set-based reads (limits, recent counts) and bulk writes, for gateway/sms/batch.py.

The reads count what the limits of :mod:`gateway.sms.rules` count, for every phone and account
of the batch at once; the writes price each message and put the whole batch's outcomes,
charges, passwords, replies, notices and audit rows in with one executemany per table, in the
caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from billing.ledger import insert_charges, message_charge
from billing.outcomes import RECOVERY, Outcome
from gateway.accounts.notices import sms_reset_notice
from gateway.accounts.services import AccountView
from gateway.accounts.throttle import throttle_key
from gateway.delivery.outbox import enqueue_all, reply_row
from gateway.models import (
    Account,
    AuditEvent,
    InboundMessage,
    LoginFailure,
    PasswordIssue,
    ServiceForward,
)
from gateway.settings import Settings
from gateway.sms.rules import Counts, Message
from gateway.states import ForwardStatus, MessageStatus
from parsers import mask_phone

log = logging.getLogger(__name__)
_messages = InboundMessage.__table__
_accounts = Account.__table__


@dataclass(frozen=True, slots=True)
class Charged:
    """A committed charge, for the metrics."""

    carrier: str
    outcome: Outcome
    amount_vnd: int
    phone: str  # the sender, for the per-prefix velocity metric


def read_counts(
    session: Session, phones: list[str], account_ids: set[int], settings: Settings, now: dt.datetime
) -> Counts:
    """Read, for every phone and account of a batch, what its limits have used in the window
    and whether it was already told so (one rate-limit notice per window)."""
    m = InboundMessage
    told = (m.outcome == Outcome.RATE_LIMITED) & m.replied.is_(True)
    by_phone = (
        select(m.sender, func.count(m.id))
        .where(m.sender.in_(phones), m.processed_at > now - settings.phone_window)
        .group_by(m.sender)
    )
    phones_told = select(m.sender).where(
        m.sender.in_(phones), told, m.processed_at > now - settings.phone_window
    )
    counts = Counts(
        per_phone={phone: n for phone, n in session.execute(by_phone)},
        phones_told=set(session.scalars(phones_told.distinct())),
    )
    if account_ids:
        by_account = (
            select(PasswordIssue.account_id, func.count(PasswordIssue.id))
            .where(
                PasswordIssue.account_id.in_(account_ids),
                PasswordIssue.issued_at > now - settings.resets_window,
            )
            .group_by(PasswordIssue.account_id)
        )
        accounts_told = select(m.account_id).where(
            m.account_id.in_(account_ids), told, m.processed_at > now - settings.resets_window
        )
        counts.per_account = {account: n for account, n in session.execute(by_account)}
        counts.accounts_told = set(session.scalars(accounts_told.distinct()))
    return counts


def render_notices(
    accounts: Iterable[AccountView], settings: Settings, now: dt.datetime
) -> dict[tuple[str, str], dict[str, object]]:
    """Render the SMS-reset notice of every account with an email, keyed by (number, address)."""
    return {
        (account.bhxh, account.email): sms_reset_notice(account.bhxh, account.email, settings, now)
        for account in accounts
        if account.email
    }


class Writes:
    """What a batch decided, gathered as rows and written with one statement per table."""

    def __init__(
        self,
        settings: Settings,
        now: dt.datetime,
        notices: dict[tuple[str, str], dict[str, object]] | None = None,
    ) -> None:
        self.settings, self.now = settings, now
        self.charged: list[Charged] = []
        self._messages: list[dict[str, Any]] = []
        self._charges: list[dict[str, Any]] = []
        self._outbox: list[dict[str, Any]] = []
        self._issues: list[dict[str, Any]] = []
        self._audit: list[dict[str, Any]] = []
        self._forwards: list[dict[str, Any]] = []
        self._passwords: dict[int, str] = {}  # account id → keyed hash; the last one wins
        self._cleared: set[str] = set()
        self._notices = notices or {}  # rendered before the lock, by (number, address)

    def decide(
        self,
        message: Message,
        outcome: Outcome,
        reply: tuple[str, str] | None = None,
        account_id: int | None = None,
        service: str = RECOVERY,
        argument: str | None = None,
    ) -> None:
        """Record one message's outcome, its charge, its reply (text and safe text) and audit;
        a forwarded one (``argument``: what its service is asked) waits for its service's
        answer to be charged and answered (gateway/services/)."""
        now = self.now
        self._messages.append(
            {
                "b_id": message.id,
                "status": MessageStatus.PROCESSED,
                "outcome": outcome,
                "account_id": account_id,
                "replied": reply is not None,
                "processed_at": now,
            }
        )
        if outcome is Outcome.FORWARDED:
            assert argument is not None
            self._forwards.append(
                {
                    "message_id": message.id,
                    "service": service,
                    "argument": argument[:200],
                    "status": ForwardStatus.PENDING,
                    "outcome": None,
                    "attempts": 0,
                    "next_try_at": now,
                    "give_up_at": now + self.settings.services_retry_horizon,
                    "last_error": None,
                    "created_at": now,
                    "finished_at": None,
                }
            )
        else:  # the carrier bills every message sent to the shortcode, whatever we make of it
            charge = message_charge(
                message,
                tariffs=self.settings.tariffs(service),
                fallback_vnd=self.settings.charge_vnd,
                outcome=outcome,
                at=now,
                service=service,
            )
            self._charges.append(charge)
            self.charged.append(
                Charged(message.carrier, outcome, charge["amount_vnd"], message.sender)
            )
        if reply is not None:
            text, safe_text = reply
            self._outbox.append(
                reply_row(message, text=text, safe_text=safe_text, settings=self.settings, now=now)
            )
        self._audit.append(
            {
                "at": now,
                "account_id": account_id,
                "actor": "user",
                "subject": mask_phone(message.sender)[:64],
                "action": "recovery" if service == RECOVERY else "service",
                "channel": "sms",
                "outcome": outcome.value,
                "detail": (
                    f"via {message.carrier}"
                    if service == RECOVERY
                    else f"{service} via {message.carrier}"
                )[:200],
                "client_ip": None,
            }
        )
        log.info(
            "message %s from %s via %s: %s",
            message.id,
            mask_phone(message.sender),
            message.carrier,
            outcome.value,
        )

    def issue(self, message: Message, account: AccountView, password_hash: str) -> None:
        """Give the account the message's temporary password, voiding any unused earlier one;
        clear its login failures and queue the notice to the email on file."""
        self._passwords[account.id] = password_hash
        self._issues.append(
            {
                "account_id": account.id,
                "channel": "sms",
                "message_id": message.id,
                "issued_at": self.now,
            }
        )
        identifiers = (account.bhxh, account.personal_id)
        self._cleared.update(throttle_key(key) for key in identifiers if key)
        if account.email:
            notice = self._notices.get((account.bhxh, account.email))
            if notice is None:
                notice = sms_reset_notice(account.bhxh, account.email, self.settings, self.now)
            self._outbox.append(notice)

    def flush(self, session: Session) -> None:
        """Write everything gathered, in the caller's transaction."""
        connection = session.connection()
        run = connection.execute
        decided = run(
            update(_messages)
            .where(_messages.c.id == bindparam("b_id"))
            .where(_messages.c.status == MessageStatus.RECEIVED),
            self._messages,
        )
        # The batch's rows are locked (or SQLite's one writer re-checked them): a message that
        # is no longer received here is a bug, and the whole batch must roll back.
        if connection.dialect.supports_sane_multi_rowcount and decided.rowcount != len(
            self._messages
        ):
            raise RuntimeError("a message of the batch was decided elsewhere meanwhile")
        insert_charges(connection, self._charges)
        if self._passwords:
            run(
                update(_accounts).where(_accounts.c.id == bindparam("b_id")),
                [
                    {
                        "b_id": account_id,
                        "temp_password_hash": password_hash,
                        "temp_password_expires_at": self.now + self.settings.temp_password_ttl,
                        "temp_password_logged_in": False,
                        "updated_at": self.now,
                    }
                    for account_id, password_hash in self._passwords.items()
                ],
            )
            run(insert(PasswordIssue.__table__), self._issues)
        if self._cleared:
            run(delete(LoginFailure).where(LoginFailure.identifier.in_(self._cleared)))
        enqueue_all(connection, self._outbox)
        if self._forwards:
            run(insert(ServiceForward.__table__), self._forwards)
        run(insert(AuditEvent.__table__), self._audit)
