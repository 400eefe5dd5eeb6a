"""The gateway's tables: accounts, inbound messages, the outbox, password issues and switches.

Rows refer to each other by id only (no ORM relationships), so each use case loads exactly
what it needs and nothing is fetched behind its back.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from billing.base import Base, UTCDateTime, enum_column
from billing.outcomes import Outcome
from gateway.states import DeliveryStatus, MessageStatus, OutboxStatus

BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements only INTEGER keys


class AccountState(enum.Enum):
    """An account is usable for recovery only once approved for electronic transactions."""

    PENDING = "pending"
    ACTIVE = "active"
    DISABLED = "disabled"


class Account(Base):
    """A VssID account as the recovery services see it."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bhxh: Mapped[str] = mapped_column(String(10), unique=True)
    personal_id: Mapped[str | None] = mapped_column(String(12), unique=True)
    phone: Mapped[str] = mapped_column(String(16), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    state: Mapped[AccountState] = mapped_column(enum_column(AccountState))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    password_hash: Mapped[str | None] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # A temporary password is stored as a keyed hash only, and never replaces the old password
    # until it is used: texting for someone else cannot lock them out.
    temp_password_hash: Mapped[str | None] = mapped_column(String(64))
    temp_password_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    temp_password_logged_in: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PasswordIssue(Base):
    """One temporary password handed out, for the per-account limit and the audit trail."""

    __tablename__ = "password_issues"
    __table_args__ = (Index("ix_password_issues_account_issued", "account_id", "issued_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    channel: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class InboundMessage(Base):
    """An SMS a carrier delivered to us (MO), stored before we answer the carrier."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("carrier", "carrier_message_id"),
        Index("ix_inbound_messages_status_id", "status", "id"),
        Index("ix_inbound_messages_sender_processed", "sender", "processed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(32))
    carrier_message_id: Mapped[str] = mapped_column(String(128))
    sender: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    content_digest: Mapped[str] = mapped_column(String(64))
    carrier_received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    route: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[MessageStatus] = mapped_column(enum_column(MessageStatus))
    outcome: Mapped[Outcome | None] = mapped_column(enum_column(Outcome))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    replied: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A reply waiting for, or done with, its way out to a carrier."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    carrier: Mapped[str] = mapped_column(String(32))
    in_reply_to: Mapped[str | None] = mapped_column(String(128))
    route: Mapped[str | None] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(16))
    # ``text`` may carry a password until the carrier takes it; then it becomes ``safe_text``.
    text: Mapped[str] = mapped_column(Text)
    safe_text: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(enum_column(OutboxStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    give_up_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    carrier_reference: Mapped[str | None] = mapped_column(String(128))
    last_error: Mapped[str | None] = mapped_column(String(200))
    delivery_status: Mapped[DeliveryStatus | None] = mapped_column(enum_column(DeliveryStatus))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Switch(Base):
    """A runtime switch that overrides a setting without a redeploy (e.g. SMS resets off)."""

    __tablename__ = "switches"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
