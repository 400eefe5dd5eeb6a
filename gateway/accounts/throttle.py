"""Login throttling by the identifier as typed: free failures, then growing waits, then a cap.

Counting by what was typed, not by account, makes the answers the same for numbers that exist
and numbers that do not. Nothing here is a lock that anyone can renew for an owner: the first
GATEWAY_LOGIN_FREE_FAILURES wrong passwords cost nothing, each one after that makes the next
try wait twice as long (2 s, 4 s, ... up to GATEWAY_LOGIN_DELAY_CAP), and after
GATEWAY_LOGIN_FAILURE_CAP in a row (NIST SP 800-63B 5.2.2: at most 100) only a recovery by SMS
or email, which proves the phone or the address, clears the count. A temporary password is
checked before the throttle, so someone else's guesses never keep the owner out.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.models import LoginFailure
from gateway.settings import Settings

KEY_LENGTH = 16


@dataclass(frozen=True, slots=True)
class Failures:
    """The consecutive failures of one identifier, as last read."""

    consecutive: int = 0
    last_failed_at: dt.datetime | None = None


def throttle_key(identifier: str) -> str:
    """Return the identifier as the counter knows it: NFKC, no spaces, at most 16 characters."""
    return "".join(unicodedata.normalize("NFKC", identifier).split())[:KEY_LENGTH]


def read_failures(session: Session, key: str) -> Failures:
    """Read an identifier's consecutive failures (none when it has no row)."""
    row = session.execute(
        select(LoginFailure.consecutive, LoginFailure.last_failed_at).where(
            LoginFailure.identifier == key
        )
    ).one_or_none()
    return Failures() if row is None else Failures(row.consecutive, row.last_failed_at)


def capped(failures: Failures, settings: Settings) -> bool:
    """Tell whether the identifier reached the hard cap (only a recovery unlocks it)."""
    return failures.consecutive >= settings.login_failure_cap


def wait_left(failures: Failures, settings: Settings, now: dt.datetime) -> dt.timedelta | None:
    """Return how long the next chosen-password try must still wait, or None if it may go."""
    extra = failures.consecutive - settings.login_free_failures
    if extra <= 0 or failures.last_failed_at is None:
        return None
    delay = min(dt.timedelta(seconds=2 ** min(extra, 30)), settings.login_delay_cap)
    left = failures.last_failed_at + delay - now
    return left if left > dt.timedelta(0) else None


def claim_try(
    session: Session, key: str, seen: Failures, settings: Settings, now: dt.datetime
) -> bool:
    """Take the one try that a finished wait allows; False when a concurrent request took it.

    Past the free failures, each wait allows one guess. Guesses that arrive together when a
    wait ends all read the same count; only the one whose conditional UPDATE still finds that
    count takes the try (it restarts the wait), the others are throttled: a burst verifies
    one password, not eight.
    """
    if seen.consecutive <= settings.login_free_failures or seen.last_failed_at is None:
        return True  # a free try: there is no wait to race for
    taken = session.execute(
        update(LoginFailure)
        .where(
            LoginFailure.identifier == key,
            LoginFailure.consecutive == seen.consecutive,
            LoginFailure.last_failed_at == seen.last_failed_at,
        )
        .values(last_failed_at=now)
        .execution_options(synchronize_session=False)
    )
    return taken.rowcount == 1  # type: ignore[attr-defined, no-any-return]


def record_failure(session: Session, key: str, now: dt.datetime) -> None:
    """Count one more wrong password for the identifier (in SQL, so concurrent ones all count)."""
    bumped = session.execute(
        update(LoginFailure)
        .where(LoginFailure.identifier == key)
        .values(consecutive=LoginFailure.consecutive + 1, last_failed_at=now)
    )
    if bumped.rowcount:  # type: ignore[attr-defined]
        return
    try:
        with session.begin_nested():
            session.execute(
                insert(LoginFailure).values(identifier=key, consecutive=1, last_failed_at=now)
            )
    except IntegrityError:  # another request inserted it first: count on its row
        record_failure(session, key, now)


def clear_failures(session: Session, keys: Iterable[str | None]) -> None:
    """Forget the failures of these identifiers (a success, or a recovery that proved the owner)."""
    wanted = [throttle_key(key) for key in keys if key]
    if wanted:
        session.execute(delete(LoginFailure).where(LoginFailure.identifier.in_(wanted)))
