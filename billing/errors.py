"""Exceptions raised by the billing package.

BillingError
 ├── DuplicateCharge        a second charge for one inbound message
 ├── RefundRefused          a refund the ledger will not take
 │    ├── NotCharged            the message has no charge to refund
 │    ├── AlreadyRefunded       the message already carries its one refund
 │    ├── RefundExceedsCharge   more than was charged, or not a positive amount
 │    └── NotRefundable         the policy does not make this outcome refundable
 ├── PeriodError            a date or period that makes no sense (bad format, --from after --to)
 └── FileError              a tariff or carrier file that cannot be read; carries line numbers
"""

from __future__ import annotations

from collections.abc import Sequence


class BillingError(Exception):
    """Base class for billing failures."""


class DuplicateCharge(BillingError):
    """The inbound message already carries a charge."""


class RefundRefused(BillingError):
    """A refund the ledger refuses; the message says why."""


class NotCharged(RefundRefused):
    """There is no charge to refund for this message."""


class AlreadyRefunded(RefundRefused):
    """The message was refunded already; a charge is refunded at most once."""


class RefundExceedsCharge(RefundRefused):
    """The refund is larger than the charge, or not positive."""


class NotRefundable(RefundRefused):
    """The message's outcome is not refundable under the policy."""


class PeriodError(BillingError):
    """A date or a period given by a person is malformed or empty."""


class FileError(BillingError):
    """A file given by a person cannot be used; ``problems`` are ``(line, reason)`` pairs."""

    def __init__(self, problems: Sequence[tuple[int, str]]) -> None:
        self.problems = list(problems)
        shown = "; ".join(f"line {line}: {reason}" for line, reason in self.problems[:20])
        more = len(self.problems) - 20
        super().__init__(shown + (f"; and {more} more" if more > 0 else ""))
