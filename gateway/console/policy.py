"""The one door to the project's password policy, so the console follows citizens' rules."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.accounts.services import check_new_password
from gateway.errors import InvalidPayload


def check_password(password: str, *, identifiers: Sequence[str] = ()) -> None:
    """Refuse a password the project's policy refuses (raises InvalidPayload)."""
    # The policy module under way (gateway.accounts.policy) also takes the identifiers; until
    # it lands, the length rules apply and the identifiers are only checked here.
    check_new_password(password)
    lowered = password.lower()
    for identifier in identifiers:
        if len(identifier) >= 4 and identifier.lower() in lowered:
            raise InvalidPayload("the password must not contain your email address")
