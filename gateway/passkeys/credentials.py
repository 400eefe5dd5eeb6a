"""An account's passkeys: register one, list, rename and remove them.

Adding or removing a passkey changes who can sign in without the password, so both need a
full session proven in the last minutes (:data:`gateway.accounts.sessions.RECENT_PROOF`), tell
the owner on every channel on file and are audited with the client's address. A restricted
session (a recovery just proven) may remove, never add: what a thief added during a takeover
must not survive the owner's recovery, and a recovery code must not plant a new key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.structs import RegistrationCredential

from gateway.accounts.login import AccountContext
from gateway.accounts.sessions import Claims, account_for, require_recent_proof
from gateway.accounts.smart_otp import require_step_up
from gateway.delivery.emails import EmailKind
from gateway.delivery.replies import Reply
from gateway.errors import ConflictingDuplicate, NotFound, PasskeyRefused, TooManyPasskeys, Why
from gateway.models import Account, Passkey
from gateway.passkeys import ceremonies

MAX_PER_ACCOUNT = 10
MAX_CREDENTIAL_ID = 1023
TRANSPORTS_LENGTH = 200  # the column's size
NAME_LENGTH = 64
# A name for a new passkey when the citizen gives none: the password manager that keeps it
# (by AAGUID, from the public passkey-authenticator-aaguids list), else the device's system.
PROVIDERS = {
    "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
    "fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
    "dd4ec289-e01d-41c9-bb89-70fa845d4bf2": "iCloud Keychain",
    "08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
    "9ddd1817-af5a-4672-a2b9-3e3dd95000a9": "Windows Hello",
    "6028b017-b1d4-4c02-b4b3-afcdafc96bb2": "Windows Hello",
    "53414d53-554e-4700-0000-000000000000": "Samsung Pass",
    "bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
    "d548826e-79b4-db40-a3d8-11116f7e8349": "Bitwarden",
}
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Macintosh", "Mac"),
    ("CrOS", "Chromebook"),
    ("Linux", "Linux"),
)


@dataclass(frozen=True, slots=True)
class PasskeyView:
    """What the owner sees of a passkey (never its key material)."""

    id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    synced: bool
    transports: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        """Return the API's JSON of this passkey."""
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "synced": self.synced,
            "transports": list(self.transports),
        }


def registration_options(
    ctx: AccountContext, claims: Claims, smart_otp_code: str | None = None
) -> ceremonies.Begun:
    """Start adding a passkey: a recent full sign-in (and a Smart OTP code once it is on)."""
    require_recent_proof(claims, ctx.now)
    require_step_up(ctx, claims, smart_otp_code)
    with ctx.sessions.begin() as session:
        account = _lock(session, claims)
        existing = list(
            session.scalars(select(Passkey.credential_id).where(Passkey.account_id == account.id))
        )
        if len(existing) >= MAX_PER_ACCOUNT:
            raise _too_many()
        if account.webauthn_user_id is None:
            account.webauthn_user_id = ceremonies.new_user_handle()
        user = ceremonies.NewUser(account.webauthn_user_id, account.bhxh, f"VssID {account.bhxh}")
        return ceremonies.begin(
            session,
            ceremonies.REGISTER,
            settings=ctx.settings,
            now=ctx.now,
            user=user,
            account_id=account.id,
            exclude=existing,
        )


def register(
    ctx: AccountContext,
    claims: Claims,
    request_id: str,
    answer: object,
    *,
    name: str = "",
    user_agent: str = "",
) -> PasskeyView:
    """Finish adding a passkey: verify the authenticator's answer, store it, tell the owner."""
    require_recent_proof(claims, ctx.now)
    credential = ceremonies.parse_registration(answer)
    with ctx.sessions.begin() as session:
        challenge = ceremonies.take(session, request_id, ceremonies.REGISTER, ctx.now)
    if challenge is None or challenge.account_id != claims.account_id:
        raise PasskeyRefused(
            "this passkey request is unknown, used or expired: start again",
            why=Why.PASSKEY_REQUEST_GONE,
        )
    verified = ceremonies.verify_new(credential, challenge, ctx.settings)
    if len(verified.credential_id) > MAX_CREDENTIAL_ID:  # WebAuthn L3 §7.1 step 24
        raise PasskeyRefused(
            f"a credential id is at most {MAX_CREDENTIAL_ID} bytes",
            why=Why.PASSKEY_ID_TOO_LONG,
            numbers={"max_bytes": MAX_CREDENTIAL_ID},
        )
    credential_id = bytes_to_base64url(verified.credential_id)
    with ctx.sessions.begin() as session:
        account = _lock(session, claims)
        if session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
            raise ConflictingDuplicate(
                "this passkey is already registered", why=Why.PASSKEY_ALREADY_ADDED
            )
        if _count(session, account.id) >= MAX_PER_ACCOUNT:
            raise _too_many()
        passkey = Passkey(
            account_id=account.id,
            credential_id=credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=_transports(credential),
            aaguid=verified.aaguid,
            synced=verified.credential_device_type.value == "multi_device",
            backed_up=verified.credential_backed_up,
            name=clean_name(name) or default_name(verified.aaguid, user_agent),
            created_at=ctx.now,
        )
        session.add(passkey)
        session.flush()
        ctx.notify(
            session, account, Reply.PASSKEY_ADDED, EmailKind.PASSKEY_ADDED, name=passkey.name
        )
        _audit(ctx, session, account, "passkey_add", "added", passkey)
        return view(passkey)


def list_passkeys(session: Session, account_id: int) -> list[PasskeyView]:
    """Return the account's passkeys, oldest first."""
    rows = session.scalars(
        select(Passkey).where(Passkey.account_id == account_id).order_by(Passkey.id)
    )
    return [view(p) for p in rows]


def rename(ctx: AccountContext, claims: Claims, passkey_id: int, name: str) -> PasskeyView:
    """Give one of the account's passkeys a name the owner recognises."""
    cleaned = clean_name(name)
    if not cleaned:
        raise PasskeyRefused(
            f"a passkey's name must have 1 to {NAME_LENGTH} visible characters",
            why=Why.PASSKEY_NAME_INVALID,
            numbers={"max_length": NAME_LENGTH},
        )
    with ctx.sessions.begin() as session:
        account = account_for(session, claims)
        passkey = _owned(session, account.id, passkey_id)
        passkey.name = cleaned
        _audit(ctx, session, account, "passkey_rename", "renamed", passkey)
        return view(passkey)


def remove(
    ctx: AccountContext, claims: Claims, passkey_id: int, smart_otp_code: str | None = None
) -> None:
    """Remove one of the account's passkeys: a recent proof (and a Smart OTP code once it is
    on), or a recovery's restricted session."""
    if not claims.restricted:
        require_recent_proof(claims, ctx.now)
        require_step_up(ctx, claims, smart_otp_code)
    with ctx.sessions.begin() as session:
        account = _lock(session, claims)
        remove_owned(ctx, session, account, passkey_id)


def remove_owned(ctx: AccountContext, session: Session, account: Account, passkey_id: int) -> None:
    """Remove a passkey of ``account`` in the caller's transaction; tell the owner, audit."""
    passkey = _owned(session, account.id, passkey_id)
    session.delete(passkey)
    ctx.notify(
        session, account, Reply.PASSKEY_REMOVED, EmailKind.PASSKEY_REMOVED, name=passkey.name
    )
    _audit(ctx, session, account, "passkey_remove", "removed", passkey)


def view(passkey: Passkey) -> PasskeyView:
    """Return what the owner sees of a stored passkey."""
    return PasskeyView(
        id=passkey.id,
        name=passkey.name,
        created_at=passkey.created_at,
        last_used_at=passkey.last_used_at,
        synced=passkey.synced,
        transports=tuple(t for t in passkey.transports.split(",") if t),
    )


def clean_name(name: str) -> str:
    """Return a name fit to show: printable, single spaces, at most NAME_LENGTH characters."""
    printable = "".join(c if c.isprintable() else " " for c in name)
    return " ".join(printable.split())[:NAME_LENGTH]


def default_name(aaguid: str, user_agent: str) -> str:
    """Name a new passkey after its provider, else the device's system."""
    if aaguid in PROVIDERS:
        return PROVIDERS[aaguid]
    system = next((label for marker, label in SYSTEMS if marker in user_agent), None)
    return f"Khóa truy cập trên {system}" if system else "Khóa truy cập"


def _transports(credential: RegistrationCredential) -> str:
    """Return the transports as stored: each once, within the column, whatever was sent."""
    names = dict.fromkeys(t.value for t in credential.response.transports or ())
    kept = ""
    for name in names:
        candidate = f"{kept},{name}" if kept else name
        if len(candidate) > TRANSPORTS_LENGTH:
            break
        kept = candidate
    return kept


def _lock(session: Session, claims: Claims) -> Account:
    account = account_for(session, claims)
    # One change at a time per account: the count of ten and the notices stay exact.
    session.refresh(account, with_for_update=True)
    return account


def _count(session: Session, account_id: int) -> int:
    query = select(func.count()).select_from(Passkey).where(Passkey.account_id == account_id)
    return int(session.scalar(query) or 0)


def _owned(session: Session, account_id: int, passkey_id: int) -> Passkey:
    if not 0 < passkey_id < 2**63:  # a URL may carry any integer; no BIGINT key is outside
        raise NotFound("no such passkey on this account", why=Why.PASSKEY_NOT_FOUND)
    passkey = session.get(Passkey, passkey_id)
    if passkey is None or passkey.account_id != account_id:
        raise NotFound("no such passkey on this account", why=Why.PASSKEY_NOT_FOUND)
    return passkey


def _audit(
    ctx: AccountContext, session: Session, account: Account, action: str, outcome: str, key: Passkey
) -> None:
    ctx.audit_account(session, account, action, outcome, detail=f"passkey {key.id}")


def _too_many() -> TooManyPasskeys:
    return TooManyPasskeys(
        f"an account keeps at most {MAX_PER_ACCOUNT} passkeys",
        why=Why.TOO_MANY_PASSKEYS,
        numbers={"max_passkeys": MAX_PER_ACCOUNT},
    )
