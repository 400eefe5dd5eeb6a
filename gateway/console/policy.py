"""The one door to the project's password policy, so staff follow citizens' rules and more."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.accounts.policy import check_new_password

# Staff reach money and switches: the length NIST and the README recommend, not the floor.
STAFF_MIN_LENGTH = 12


def check_password(password: str, *, identifiers: Sequence[str] = ()) -> None:
    """Refuse a password the project's policy refuses (raises InvalidPayload)."""
    check_new_password(password, identifiers=identifiers, min_length=STAFF_MIN_LENGTH)
