"""Login tokens: a full session, or a restricted one that can only set a new password.

A token is signed (itsdangerous) and carries the account id, the password's version (so a
password change voids every earlier token), when it was issued by the gateway's clock (so
expiry follows the same clock as everything else: a token's lifetime is absolute, never
slid), a random id (so signing out can end that one token, :func:`revoke`) and, for a
restricted session, ``r``. A restricted
session comes from a temporary password, a recovery OTP or an account that must change its
password; it lives RESTRICTED_TTL and opens only the set-password endpoint and ``/auth/me``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from gateway.errors import InvalidCredentials, ProofRequired, Why
from gateway.models import Account, AccountState, RevokedToken
from gateway.settings import Settings

RESTRICTED_TTL = dt.timedelta(minutes=15)
# What protects the account (a passkey added or removed) needs a sign-in this recent: a
# session left open on a shared computer is not enough.
RECENT_PROOF = dt.timedelta(minutes=5)
_SALT = "gateway-login"


@dataclass(frozen=True, slots=True)
class Claims:
    """What a valid token says."""

    account_id: int
    version: str
    restricted: bool
    issued_at: dt.datetime  # when the password, passkey or recovery behind it was proven
    token_id: str | None = None  # None on tokens issued before ids were added

    def proved_recently(self, now: dt.datetime) -> bool:
        """Say whether a full session's proof is fresh enough for a sensitive change."""
        return not self.restricted and now - self.issued_at <= RECENT_PROOF


def password_version(account: Account) -> str:
    """Return the stamp that changes whenever the account's password does."""
    return account.password_changed_at.isoformat() if account.password_changed_at else ""


def issue_token(account: Account, *, settings: Settings, restricted: bool, now: dt.datetime) -> str:
    """Sign a login token for the account."""
    claims: dict[str, object] = {
        "a": account.id,
        "v": password_version(account),
        "t": int(now.timestamp()),
        "j": secrets.token_urlsafe(12),
    }
    if restricted:
        claims["r"] = 1
    return _serializer(settings).dumps(claims)


def token_ttl(settings: Settings, *, restricted: bool) -> dt.timedelta:
    """Return how long a token of this kind lives."""
    return RESTRICTED_TTL if restricted else settings.token_ttl


def read_token(token: str, *, settings: Settings, now: dt.datetime) -> Claims:
    """Check a token's signature and age; raise InvalidCredentials (401) if it is not valid."""
    try:
        raw = _serializer(settings).loads(token)
        issued = dt.datetime.fromtimestamp(int(raw["t"]), dt.UTC)
        token_id = raw.get("j")
        claims = Claims(
            int(raw["a"]),
            str(raw["v"]),
            bool(raw.get("r")),
            issued,
            token_id if isinstance(token_id, str) else None,
        )
    except (BadSignature, KeyError, TypeError, ValueError, AttributeError, OverflowError):
        raise _expired() from None
    if not issued <= now < issued + token_ttl(settings, restricted=claims.restricted):
        raise _expired()
    return claims


def require_recent_proof(claims: Claims, now: dt.datetime) -> None:
    """Refuse (403 recent_proof_required) unless a full session was proven in RECENT_PROOF."""
    if not claims.proved_recently(now):
        minutes = int(RECENT_PROOF.total_seconds() // 60)
        raise ProofRequired(
            "sign in again (password or passkey) to do this: the last proof is older than "
            f"{minutes} minutes",
            why=Why.RECENT_PROOF_NEEDED,
            numbers={"minutes": minutes},
        )


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
        or (claims.token_id and session.get(RevokedToken, claims.token_id) is not None)
    ):
        raise _expired()
    return account


def revoke(session: Session, claims: Claims, settings: Settings) -> None:
    """End one token now (signing out): a copy of it opens nothing from here on."""
    if claims.token_id is None or session.get(RevokedToken, claims.token_id) is not None:
        return
    expires = claims.issued_at + token_ttl(settings, restricted=claims.restricted)
    session.add(RevokedToken(token_id=claims.token_id, expires_at=expires))


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key, salt=_SALT)


def _expired() -> InvalidCredentials:
    return InvalidCredentials("the token is invalid or expired", why=Why.SESSION_EXPIRED)
