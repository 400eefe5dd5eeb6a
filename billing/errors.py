"""Exceptions raised by the billing package.

BillingError
 └── DuplicateCharge   a second charge for one inbound message
"""


class BillingError(Exception):
    """Base class for billing failures."""


class DuplicateCharge(BillingError):
    """The inbound message already carries a charge."""
