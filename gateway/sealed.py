"""Secrets the gateway must read back, kept encrypted in the database (staff TOTP seeds).

A password is stored as a hash, but an authenticator's seed must be read to check a code: a
copy of the database (a backup, a replica, a stolen dump) would otherwise let its holder make
every staff member's second factor. :class:`SealedText` encrypts such a column with Fernet
(AES-128-CBC with HMAC-SHA256, from ``cryptography``) under a key derived from
``GATEWAY_SECRET_KEY``, which lives in the environment, never in the database.

The runtime calls :func:`configure` with its key. Values are sealed with the key configured
last and opened with any key configured in the process (a deployment has one; the tests build
apps with several). A value that opens with none (``GATEWAY_SECRET_KEY`` was changed) reads
as ``None`` and is logged: for a TOTP seed that means "not enrolled", so the member is
refused, not served a 500, until ``gateway staff reset`` enrols them again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from cryptography.fernet import Fernet, MultiFernet

log = logging.getLogger(__name__)

# Every Fernet token starts with its version byte 0x80, which base64 writes as "gAAAAA".
_TOKEN_START = "gAAAAA"  # noqa: S105 (a format marker, not a secret)
_KEY_LABEL = b"gateway sealed columns v1"  # a key of its own, not GATEWAY_SECRET_KEY itself
_keys: dict[bytes, Fernet] = {}  # newest last
_ring: MultiFernet | None = None


def configure(secret_key: str) -> None:
    """Derive a sealing key from ``GATEWAY_SECRET_KEY``; seal with it from now on."""
    from cryptography.fernet import Fernet, MultiFernet  # here: `--help` imports the models

    global _ring  # the process's keys, as the process has its GATEWAY_SECRET_KEY
    derived = base64.urlsafe_b64encode(
        hmac.new(secret_key.encode(), _KEY_LABEL, hashlib.sha256).digest()
    )
    _keys[derived] = _keys.pop(derived, None) or Fernet(derived)
    _ring = MultiFernet(list(reversed(_keys.values())))  # the first one seals


def _key() -> MultiFernet:
    if _ring is None:
        raise RuntimeError("gateway.sealed.configure() was not called: no key to seal with")
    return _ring


class SealedText(TypeDecorator[str]):
    """A text column stored encrypted; reads give the plain text back.

    Values written before the column was sealed (plain text) are read as they are and sealed
    the next time they are written.
    """

    impl = String(255)  # a Fernet token of a 32-character seed is 140 characters
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return _key().encrypt(value.encode()).decode()

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not value.startswith(_TOKEN_START):
            return str(value)  # stored before sealing
        from cryptography.fernet import InvalidToken

        try:
            return _key().decrypt(value.encode()).decode()
        except InvalidToken:
            log.error(
                "a sealed value does not open with this GATEWAY_SECRET_KEY (was it changed?); "
                "read as empty: re-enrol staff with `gateway staff reset`"
            )
            return None
