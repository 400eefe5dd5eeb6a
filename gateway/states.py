"""Message and outbox statuses as data: one enum each and one transition table.

Every status change goes through :func:`check_transition`, so an illegal move raises
instead of silently corrupting a row.
"""

from __future__ import annotations

import enum

from gateway.errors import IllegalTransition


class MessageStatus(enum.Enum):
    """Where an inbound message is: waiting for the worker, or done with an outcome."""

    RECEIVED = "received"
    PROCESSED = "processed"


class OutboxStatus(enum.Enum):
    """Where an outbound message is on its way to the carrier."""

    PENDING = "pending"  # waiting for its next attempt
    SENDING = "sending"  # claimed by a worker under a lease
    SENT = "sent"  # the carrier accepted it
    FAILED = "failed"  # refused for good, or the retry horizon passed


class ForwardStatus(enum.Enum):
    """Where a keyword service's message is: being forwarded (with retries), or answered."""

    PENDING = "pending"  # due at next_try_at; an attempt in flight holds it for the lease
    DONE = "done"  # the service answered, or failed until the horizon: outcome says which


class Channel(enum.Enum):
    """How an outbound message travels: through a carrier, or through the SMTP relay."""

    SMS = "sms"
    EMAIL = "email"


class DeliveryStatus(enum.Enum):
    """What the carrier's delivery report said about a sent message."""

    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"


TRANSITIONS: dict[enum.Enum, frozenset[enum.Enum]] = {
    MessageStatus.RECEIVED: frozenset({MessageStatus.PROCESSED}),
    MessageStatus.PROCESSED: frozenset(),
    OutboxStatus.PENDING: frozenset({OutboxStatus.SENDING, OutboxStatus.FAILED}),
    # A worker that died leaves SENDING behind; after its lease another worker claims it again.
    OutboxStatus.SENDING: frozenset(
        {OutboxStatus.SENDING, OutboxStatus.PENDING, OutboxStatus.SENT, OutboxStatus.FAILED}
    ),
    ForwardStatus.PENDING: frozenset({ForwardStatus.DONE}),
    ForwardStatus.DONE: frozenset(),
    OutboxStatus.SENT: frozenset(),
    OutboxStatus.FAILED: frozenset(),
}


def check_transition(current: enum.Enum, new: enum.Enum) -> None:
    """Raise IllegalTransition unless ``current`` may become ``new``."""
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(f"{type(current).__name__}: {current.value} -> {new.value}")


def sources_of(new: enum.Enum) -> frozenset[enum.Enum]:
    """Return every status that may become ``new`` (for conditional UPDATE ... WHERE)."""
    return frozenset(old for old, targets in TRANSITIONS.items() if new in targets)
