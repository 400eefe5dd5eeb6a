"""Password hashing: argon2id for chosen passwords, a keyed hash for temporary ones.

Chosen passwords use argon2id at OWASP's floor (19 MiB, 2 passes, 1 lane), over their NFKC
form. Temporary passwords are 10 random characters from a 31-letter alphabet (~50 bits); a
keyed HMAC is enough for them and keeps the worker fast.

The :class:`Hasher` is a port: the runtime holds one, so a test can put in a hasher that waits
(to prove no lock is held across a hash) or a fast one (for stateful tests).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.accounts.policy import normalise_password


class Hasher(Protocol):
    """What the account use cases need of a password hasher."""

    def hash(self, password: str) -> str:
        """Hash a chosen password."""

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Check a password; ``None`` spends the same time as a real check and fails."""

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether a hash was made with weaker parameters than today's."""


class Argon2Hasher:
    """argon2id with OWASP's minimum parameters (Password Storage Cheat Sheet)."""

    def __init__(self, *, time_cost: int = 2, memory_cost: int = 19 * 1024) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)
        # Verifying against this when an account does not exist keeps the answer time the same.
        self._dummy = self._hasher.hash("not a password of anyone")

    def hash(self, password: str) -> str:
        """Hash a chosen password's NFKC form with argon2id."""
        return self._hasher.hash(normalise_password(password))

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Check a password against its argon2 hash; ``None`` spends the same time and fails."""
        try:
            matched = self._hasher.verify(
                password_hash or self._dummy, normalise_password(password)
            )
        except (VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether a hash was made with weaker parameters than today's."""
        return self._hasher.check_needs_rehash(password_hash)


DEFAULT_HASHER = Argon2Hasher()


def hash_password(password: str) -> str:
    """Hash a chosen password with the default argon2id hasher."""
    return DEFAULT_HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password with the default hasher; ``None`` spends the same time and fails."""
    return DEFAULT_HASHER.verify(password_hash, password)


def keyed_hash(secret_key: str, value: str) -> str:
    """Return HMAC-SHA256 of ``value`` under the gateway's secret key, as hex."""
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()


def keyed_hash_matches(secret_key: str, stored: str | None, value: str) -> bool:
    """Compare ``value`` to a stored keyed hash in constant time."""
    if stored is None:
        return False
    return hmac.compare_digest(stored, keyed_hash(secret_key, value))
