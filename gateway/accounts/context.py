"""What every account use case is given: its sessions, settings, replies, hasher and time.

The request's channel and address ride along, so that the audit row and the owner's notice
are written the same way by every use case that makes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from gateway.accounts.notices import notify_everywhere
from gateway.accounts.passwords import Hasher
from gateway.delivery.emails import EmailKind
from gateway.delivery.replies import Reply, ReplyCatalog
from gateway.models import Account
from gateway.ops.audit import record_event
from gateway.settings import Settings
from parsers import mask_id


@dataclass(frozen=True, slots=True)
class AccountContext:
    """What the account use cases need: sessions, settings, replies, the hasher, the time."""

    sessions: sessionmaker[Session]
    settings: Settings
    catalog: ReplyCatalog
    hasher: Hasher
    now: dt.datetime
    client_ip: str | None = None
    channel: str = "api"

    def audit(
        self,
        session: Session,
        action: str,
        outcome: str,
        *,
        identifier: str | None,
        account_id: int | None,
        actor: str = "user",
        detail: str | None = None,
    ) -> None:
        """Add one audit row for this request: ``identifier`` (a number, None when no account
        is known) is masked here."""
        record_event(
            session,
            action=action,
            channel=self.channel,
            outcome=outcome,
            subject=mask_id(identifier) if identifier else "unknown",
            account_id=account_id,
            actor=actor,
            detail=detail,
            client_ip=self.client_ip,
            now=self.now,
        )

    def audit_account(
        self,
        session: Session,
        account: Account,
        action: str,
        outcome: str,
        *,
        actor: str = "user",
        detail: str | None = None,
    ) -> None:
        """Add one audit row for this request about a known account."""
        self.audit(
            session,
            action,
            outcome,
            identifier=account.bhxh,
            account_id=account.id,
            actor=actor,
            detail=detail,
        )

    def notify(
        self, session: Session, account: Account, reply: Reply, kind: EmailKind, **values: str
    ) -> None:
        """Tell the phone and the email on file of a change (see :func:`notify_everywhere`)."""
        notify_everywhere(
            session,
            account,
            reply,
            kind,
            settings=self.settings,
            catalog=self.catalog,
            now=self.now,
            **values,
        )
