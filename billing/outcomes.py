"""The outcome every accepted inbound message ends with, and which outcomes are refundable."""

from __future__ import annotations

import enum


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
