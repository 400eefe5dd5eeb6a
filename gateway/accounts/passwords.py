"""Password hashing: argon2id for chosen passwords, a keyed hash for temporary ones.

Chosen passwords use argon2id at OWASP's floor (19 MiB, 2 passes, 1 lane). Temporary
passwords are 10 random characters from a 31-letter alphabet (~50 bits); a keyed HMAC is
enough for them and keeps the worker fast.
"""

from __future__ import annotations

import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 as the minimum.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verifying against this when an account does not exist keeps the answer time the same.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """Hash a chosen password with argon2id."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password against its argon2 hash; ``None`` spends the same time and fails."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Tell whether a hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(password_hash)


def keyed_hash(secret_key: str, value: str) -> str:
    """Return HMAC-SHA256 of ``value`` under the gateway's secret key, as hex."""
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()


def keyed_hash_matches(secret_key: str, stored: str | None, value: str) -> bool:
    """Compare ``value`` to a stored keyed hash in constant time."""
    if stored is None:
        return False
    return hmac.compare_digest(stored, keyed_hash(secret_key, value))
