"""Login tokens: a full session, or a restricted one that can only set a new password.

A token is signed (itsdangerous) and carries the account id, the password's version (so a
password change voids every earlier token) and, for a restricted session, ``r``. A restricted
session comes from a temporary password, a recovery OTP or an account that must change its
password; it lives RESTRICTED_TTL and opens only the set-password endpoint and ``/auth/me``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from gateway.errors import InvalidCredentials
from gateway.models import Account, AccountState
from gateway.settings import Settings

RESTRICTED_TTL = dt.timedelta(minutes=15)
_SALT = "gateway-login"


@dataclass(frozen=True, slots=True)
class Claims:
    """What a valid token says."""

    account_id: int
    version: str
    restricted: bool


def password_version(account: Account) -> str:
    """Return the stamp that changes whenever the account's password does."""
    return account.password_changed_at.isoformat() if account.password_changed_at else ""


def issue_token(account: Account, *, settings: Settings, restricted: bool) -> str:
    """Sign a login token for the account."""
    claims: dict[str, object] = {"a": account.id, "v": password_version(account)}
    if restricted:
        claims["r"] = 1
    return _serializer(settings).dumps(claims)


def token_ttl(settings: Settings, *, restricted: bool) -> dt.timedelta:
    """Return how long a token of this kind lives."""
    return RESTRICTED_TTL if restricted else settings.token_ttl


def read_token(token: str, *, settings: Settings) -> Claims:
    """Check a token's signature and age; raise InvalidCredentials (401) if it is not valid."""
    serializer = _serializer(settings)
    try:
        raw = serializer.loads(token, max_age=int(settings.token_ttl.total_seconds()))
        restricted = bool(raw.get("r"))
        if restricted:
            serializer.loads(token, max_age=int(RESTRICTED_TTL.total_seconds()))
        return Claims(int(raw["a"]), str(raw["v"]), restricted)
    except (BadSignature, SignatureExpired, KeyError, TypeError, ValueError, AttributeError):
        raise InvalidCredentials("the token is invalid or expired") from None


def bearer_token(header: str) -> str | None:
    """Return the token of an ``Authorization: Bearer ...`` header, or None."""
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def account_for(session: Session, claims: Claims) -> Account:
    """Load the token's account; a changed password or a disabled account voids the token."""
    account = session.get(Account, claims.account_id)
    if (
        account is None
        or account.state is not AccountState.ACTIVE
        or password_version(account) != claims.version
    ):
        raise InvalidCredentials("the token is invalid or expired")
    return account


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=_SALT)
