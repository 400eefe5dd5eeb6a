"""The outcome every accepted inbound message ends with, and which outcomes are refundable."""

from __future__ import annotations

import enum

# The built-in keyword service, BH MK; the others are configured (GATEWAY_SERVICES).
RECOVERY = "recovery"


class Outcome(enum.Enum):
    """What became of one inbound message; exactly one per accepted message."""

    RESET_SENT = "reset_sent"
    WRONG_SYNTAX = "wrong_syntax"
    NOT_MATCHED = "not_matched"
    RATE_LIMITED = "rate_limited"
    SERVICE_DISABLED = "service_disabled"
    SYSTEM_ERROR = "system_error"
    # The carrier said the sender's SIM changed within GATEWAY_SIM_SWAP_MAX_AGE: a SIM-swap
    # thief would receive the password, so the reset is refused (docs/sim-swap.md).
    SIM_SWAPPED = "sim_swapped"
    # A keyword service (docs/services.md): handed to the agency's system, and how it answered.
    # FORWARDED is the message's state while the worker forwards it; it is never charged: the
    # charge is written with the answer, under the outcome below.
    FORWARDED = "forwarded"
    ANSWERED = "answered"
    NOT_FOUND = "not_found"
    REFUSED = "refused"
    # The service failed (timeout, 5xx, a bad answer) until the retry horizon, or its switch is
    # off: the citizen was told "Dich vu tam thoi gian doan" and paid for nothing.
    INTERRUPTED = "interrupted"
