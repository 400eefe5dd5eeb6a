"""The gateway's tables: accounts, inbound messages, the outbox, password issues, switches, the
keyword services' forwards, and the email channel's OTPs, captchas, recovery requests and the
audit trail.

Rows refer to each other by id only (no ORM relationships), so each use case loads exactly
what it needs and nothing is fetched behind its back.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from billing.base import Base, UTCDateTime, enum_column
from billing.outcomes import Outcome
from gateway.sealed import SealedText
from gateway.states import Channel, DeliveryStatus, ForwardStatus, MessageStatus, OutboxStatus

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
    # Only a confirmed address is stored here, and only this one is used for recovery: imported
    # from BHXH's records, or confirmed by an OTP. An address being added waits in its OTP row.
    email: Mapped[str | None] = mapped_column(String(254))
    # When the address on file was confirmed (None: imported from BHXH's records before this
    # was kept); the page after a recovery shows it, so the owner can spot a thief's address.
    email_added_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The WebAuthn user handle: random, made at the first passkey, never personal data.
    webauthn_user_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    state: Mapped[AccountState] = mapped_column(enum_column(AccountState))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    password_hash: Mapped[str | None] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # A temporary password is stored as a keyed hash only, and never replaces the old password
    # until it is used: texting for someone else cannot lock them out.
    temp_password_hash: Mapped[str | None] = mapped_column(String(64))
    temp_password_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # True once the temporary password has logged in: it never logs in again (single use).
    temp_password_logged_in: Mapped[bool] = mapped_column(Boolean, default=False)
    # Wrong OTPs count per account, across resends: a new code does not reset the count.
    otp_failures: Mapped[int] = mapped_column(Integer, default=0)
    otp_locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Passkey(Base):
    """A WebAuthn credential (a passkey) that signs the account in or recovers it.

    Only the public key is stored: what signs lives on the citizen's device or in their
    platform's synced keychain. ``synced`` is the authenticator's backup eligibility.
    """

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)  # base64url
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE_Key, as registered
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[str] = mapped_column(String(200), default="")  # comma-separated
    aaguid: Mapped[str] = mapped_column(String(36))
    synced: Mapped[bool] = mapped_column(Boolean, default=False)
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SmartOtp(Base):
    """An account's Smart OTP: the seed of the code app on the citizen's own phone (RFC 6238).

    Both seeds are sealed (gateway/sealed.py), like the staff's. A new seed waits in
    ``pending_secret`` until the citizen types a code from the app; only then does it replace
    ``secret``. ``last_step`` makes each 30-second code work once, however many ask at once.
    """

    __tablename__ = "smart_otp"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    secret: Mapped[str | None] = mapped_column(SealedText())
    enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_step: Mapped[int | None] = mapped_column(BigInteger)
    pending_secret: Mapped[str | None] = mapped_column(SealedText())
    pending_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RevokedToken(Base):
    """A login token ended before its time (signing out): refused until it would expire."""

    __tablename__ = "revoked_tokens"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class WebAuthnChallenge(Base):
    """A ceremony's challenge: random, single use, bound to who asked, valid a few minutes.

    ``id`` is the request id handed to the app (or kept in the portal's cookie); the
    challenge itself is not secret (the options carry it), but it is used at most once.
    """

    __tablename__ = "webauthn_challenges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))  # register, sign_in or recover
    challenge: Mapped[str] = mapped_column(String(128))  # base64url
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))  # register only
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LoginFailure(Base):
    """Consecutive wrong passwords for one identifier as typed, whether or not an account has it.

    Keyed by the identifier rather than the account, so throttling answers the same for
    unknown and real numbers and never tells which exist.
    """

    __tablename__ = "login_failures"

    identifier: Mapped[str] = mapped_column(String(16), primary_key=True)
    consecutive: Mapped[int] = mapped_column(Integer)
    last_failed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


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
        # The console's Overview counts today's and the last 30 days' messages.
        Index("ix_inbound_messages_created_at", "created_at"),
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
    """An SMS or an email waiting for, or done with, its way out (a carrier or the SMTP relay)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel), default=Channel.SMS)
    carrier: Mapped[str] = mapped_column(String(32))  # "email" for the email channel
    in_reply_to: Mapped[str | None] = mapped_column(String(128))
    route: Mapped[str | None] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(254))  # shortcode, or the From header
    recipient: Mapped[str] = mapped_column(String(254))  # phone, or email address
    subject: Mapped[str | None] = mapped_column(String(200))
    # ``text`` (and ``html``) may carry a password or an OTP until it is handed over; then it
    # becomes ``safe_text`` (``safe_html``).
    text: Mapped[str] = mapped_column(Text)
    safe_text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    safe_html: Mapped[str | None] = mapped_column(Text)
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
    # Who set it and why, shown in the console: a person, or "auto" when a keyword service
    # kept failing (gateway/services/forwarding.py).
    actor: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(200))


class ServiceForward(Base):
    """A message for a keyword service (BH QT ...), forwarded by the worker to the agency's
    system until it answers or the retry horizon passes (gateway/services/)."""

    __tablename__ = "service_forwards"
    __table_args__ = (Index("ix_service_forwards_status_next", "status", "next_try_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # One forward per message: the webhook-id the service de-duplicates on is the message's id.
    message_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"), unique=True)
    service: Mapped[str] = mapped_column(String(32), index=True)
    argument: Mapped[str] = mapped_column(String(200))
    status: Mapped[ForwardStatus] = mapped_column(enum_column(ForwardStatus))
    outcome: Mapped[Outcome | None] = mapped_column(enum_column(Outcome))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    give_up_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RateLimitCounter(Base):
    """One client's hits in one fixed window of a rate limit (gateway/ops/ratelimits.py)."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # unix seconds, as limits uses


class Otp(Base):
    """A one-time code emailed to prove control of an address, stored as a keyed hash only."""

    __tablename__ = "otps"
    __table_args__ = (Index("ix_otps_account_created", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    purpose: Mapped[str] = mapped_column(String(16))  # "recovery" or "email_change"
    code_hash: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(254))  # where it went; for a change, the new address
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    consumed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class EmailRecoveryRequest(Base):
    """A "forgot password" request by email, stored as asked; the worker decides what follows.

    The request path only stores it, so it does the same work whether or not the pair matches.
    The address is kept as a keyed hash: it only needs comparing with the one on file.
    """

    __tablename__ = "email_recovery_requests"
    __table_args__ = (Index("ix_email_recovery_requests_pending", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(12))
    email_hash: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16))  # "app" or "portal"
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))


class Captcha(Base):
    """A captcha challenge: single use, expiring, its answer stored as a keyed hash."""

    __tablename__ = "captchas"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    answer_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AuditEvent(Base):
    """One recovery, password or email event: who, what, channel, when, outcome; data masked."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_account_at", "account_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    actor: Mapped[str] = mapped_column(String(16))  # user, operator or system
    subject: Mapped[str] = mapped_column(String(64))  # masked: 01******89, 8491****678
    action: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(String(200))  # masked too
    # The caller's address as the trusted proxy hops (GATEWAY_PROXY_HOPS) report it.
    client_ip: Mapped[str | None] = mapped_column(String(45))


class StaffMember(Base):
    """A finance, operations or admin person who signs in to the console (never a citizen).

    Sign-in needs the password and a TOTP code. The enrolment link is stored as a keyed hash;
    ``session_version`` changes whenever the credentials or the role do, and at sign-out, so
    older cookies stop working.
    """

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # finance, operator or admin
    password_hash: Mapped[str | None] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(SealedText())  # encrypted: gateway/sealed.py
    # The last TOTP time step accepted: a code works once, even inside its 30 s window.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    enrol_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrol_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The code mailed to the member before the enrolment page shows the seed (keyed hash), when
    # it went, and the wrong codes typed against this link.
    enrol_code_hash: Mapped[str | None] = mapped_column(String(64))
    enrol_code_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    enrol_code_failures: Mapped[int] = mapped_column(Integer, default=0)
    enrolled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    failed_signins: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
