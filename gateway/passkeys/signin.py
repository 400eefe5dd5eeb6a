"""Sign in or recover with a passkey: an assertion becomes a full or a restricted session.

Both start the same way (:func:`options`): a discoverable-credential request that names no
account, so nothing tells which accounts exist or have passkeys. :func:`authenticate` spends
the challenge, finds the passkey by its credential id, lets py_webauthn check the signature,
then judges the sign count: a counter that does not move forward on a passkey that is not
synced means a cloned authenticator, and is refused and reported (audit and log).

A sign-in gives the same full session as a password and clears the login throttle of the
account; a recovery gives the 15-minute restricted session of a temporary password and tells
the owner on every channel on file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.structs import AuthenticationCredential

from gateway.accounts.login import AccountContext
from gateway.accounts.throttle import clear_failures
from gateway.delivery.emails import EmailKind
from gateway.delivery.replies import Reply
from gateway.errors import InvalidCredentials, PasskeyRefused, Why
from gateway.models import Account, AccountState, Passkey, WebAuthnChallenge
from gateway.passkeys import ceremonies
from parsers import mask_id

log = logging.getLogger(__name__)

NOT_ACCEPTED = "the passkey was not accepted: use another way to sign in, or start again"
RECOVERY_METHOD = "khóa truy cập"


@dataclass(frozen=True, slots=True)
class Proven:
    """A verified assertion: the account, and whether its session may only set a password."""

    account: Account
    restricted: bool


def options(ctx: AccountContext, purpose: str) -> ceremonies.Begun:
    """Start a passkey sign-in (``sign_in``) or recovery (``recover``)."""
    with ctx.sessions.begin() as session:
        return ceremonies.begin(session, purpose, settings=ctx.settings, now=ctx.now)


def authenticate(ctx: AccountContext, purpose: str, request_id: str, answer: object) -> Proven:
    """Check a passkey's answer to the challenge of ``request_id``; refuse with 401."""
    credential = ceremonies.parse_assertion(answer)
    with ctx.sessions.begin() as session:
        challenge = ceremonies.take(session, request_id, purpose, ctx.now)
    if challenge is None:
        # The same words as every other refusal here: a sign-in tells nothing of why.
        raise InvalidCredentials(
            "this passkey request is unknown, used or expired: start again",
            why=Why.PASSKEY_SIGN_IN_REFUSED,
        )
    with ctx.sessions.begin() as session:
        # Locked: two answers of one passkey are judged one after the other (its counter).
        found = session.execute(
            select(Passkey, Account)
            .join(Account, Account.id == Passkey.account_id)
            .where(Passkey.credential_id == bytes_to_base64url(credential.raw_id))
            .with_for_update()
        ).first()
        passkey, account = (found.Passkey, found.Account) if found else (None, None)
        refusal = _judge(ctx, credential, challenge, passkey, account)
        if refusal is None:
            assert passkey is not None and account is not None
            if purpose == ceremonies.RECOVER:
                ctx.notify(
                    session, account, Reply.RECOVERED, EmailKind.RECOVERED, method=RECOVERY_METHOD
                )
            else:
                # A proven owner is no longer held back by anyone's wrong guesses.
                clear_failures(session, [account.bhxh, account.personal_id])
        _record(ctx, session, account, purpose, refusal or "passkey", passkey)
    if refusal is not None or account is None:
        raise InvalidCredentials(NOT_ACCEPTED, why=Why.PASSKEY_SIGN_IN_REFUSED)
    return Proven(account, restricted=purpose == ceremonies.RECOVER)


def _judge(
    ctx: AccountContext,
    credential: AuthenticationCredential,
    challenge: WebAuthnChallenge,
    passkey: Passkey | None,
    account: Account | None,
) -> str | None:
    """Return why the assertion is refused, or None after recording its use on the passkey."""
    if passkey is None or account is None or account.state is not AccountState.ACTIVE:
        return "unknown_passkey"
    # No account was named before the ceremony, so the handle is required (WebAuthn L3 §7.2
    # step 6): it must be the account's own.
    handle = credential.response.user_handle
    if handle is None or bytes_to_base64url(handle) != account.webauthn_user_id:
        return "wrong_user_handle"
    try:
        verified = ceremonies.verify_assertion(
            credential, challenge, passkey.public_key, ctx.settings
        )
    except PasskeyRefused:
        return "not_verified"
    stored, new = passkey.sign_count, verified.new_sign_count
    if (stored or new) and new <= stored and not passkey.synced:
        log.warning(
            "passkey %s of %s: sign count went from %s to %s (a cloned authenticator?)",
            passkey.id,
            mask_id(account.bhxh),
            stored,
            new,
        )
        return "sign_count_regressed"
    passkey.sign_count = max(stored, new)
    passkey.backed_up = verified.credential_backed_up
    passkey.last_used_at = ctx.now
    return None


def _record(
    ctx: AccountContext,
    session: Session,
    account: Account | None,
    purpose: str,
    outcome: str,
    passkey: Passkey | None,
) -> None:
    ctx.audit(
        session,
        "login" if purpose == ceremonies.SIGN_IN else "passkey_recovery",
        outcome,
        identifier=account.bhxh if account else None,
        account_id=account.id if account else None,
        detail=f"passkey {passkey.id}" if passkey else None,
    )
