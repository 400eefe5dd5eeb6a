"""Smart OTP: a code app on the citizen's own phone, bound to the account (RFC 6238).

Enrolment shows a fresh seed once (a QR code and text); it becomes the account's only after a
code from the app proves the app has it, and then replaces any earlier one (one device per
account). Every 30-second step is accepted once per account: :func:`use_code` records it with
a conditional UPDATE, so of many requests racing with one code exactly one wins, on SQLite and
PostgreSQL alike.

Once enrolled, a current code is also the step-up for what protects the account (a passkey
added or removed, the email added or changed, Smart OTP replaced or turned off):
:func:`require_step_up`. A recovery's restricted session may turn it off without a code (the
phone may be what was lost); so may the hotline, audited (``gateway accounts smart-otp-reset``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from gateway.accounts import totp
from gateway.accounts.login import CAPPED, AccountContext, Tries, take_try
from gateway.accounts.sessions import Claims, account_for, require_recent_proof
from gateway.accounts.throttle import clear_failures, read_failures, record_failure
from gateway.delivery.emails import EmailKind
from gateway.delivery.replies import Reply
from gateway.errors import InvalidPayload, NotFound, StepUpRequired, Why
from gateway.models import Account, SmartOtp

ISSUER = "VssID BHXH"
# How long a seed shown at enrolment waits for its first code.
PENDING_TTL = dt.timedelta(minutes=15)
STEP_UP = "this change needs a current Smart OTP code from the app on your phone"
STEP_UP_ACTION = "smart_otp_step_up"
# Wrong step-up codes count with the passwords, and the cap sends the owner to a recovery.
CODE_TRIES = Tries("attempts", Why.CODE_WAIT, CAPPED, Why.LOGIN_CAPPED)


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A seed shown once: as text (in groups of 4) and as the URI its QR code holds."""

    secret: str
    otpauth_uri: str

    @property
    def grouped(self) -> str:
        """Return the seed as people copy it: ABCD EFGH ..."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


def enabled_since(session: Session, account_id: int) -> dt.datetime | None:
    """Return when the account's Smart OTP was turned on, or None when it has none.

    Read from ``enabled_at``, not the seed: a seed that no longer opens (GATEWAY_SECRET_KEY
    was changed) keeps asking for a code, which then never matches, rather than silently
    dropping the step-up. The owner turns it off after a recovery, or the hotline does.
    """
    device = session.get(SmartOtp, account_id)
    return device.enabled_at if device is not None else None


def pending_enrolment(session: Session, account_id: int, now: dt.datetime) -> Enrolment | None:
    """Return the seed still waiting for its first code, to show it again; None if none."""
    device = session.get(SmartOtp, account_id)
    account = session.get(Account, account_id)
    if (
        device is None
        or device.pending_secret is None
        or device.pending_since is None
        or account is None
        or device.pending_since + PENDING_TTL < now
    ):
        return None
    return Enrolment(
        device.pending_secret,
        totp.provisioning_uri(device.pending_secret, name=account.bhxh, issuer=ISSUER),
    )


def use_code(session: Session, account_id: int, code: str, now: dt.datetime) -> bool:
    """Accept a current code of the account's Smart OTP once; False for anything else."""
    device = session.get(SmartOtp, account_id)
    secret = device.secret if device is not None else None
    step = totp.matching_step(secret or totp.DUMMY_SECRET, code, now)
    if secret is None or step is None:
        return False
    spent = session.execute(
        update(SmartOtp)
        .where(
            SmartOtp.account_id == account_id,
            SmartOtp.enabled_at.is_not(None),
            or_(SmartOtp.last_step.is_(None), SmartOtp.last_step < step),
        )
        .values(last_step=step)
        .execution_options(synchronize_session=False)
    )
    return spent.rowcount == 1  # type: ignore[attr-defined, no-any-return]


def prove_code(ctx: AccountContext, account_id: int, code: str) -> bool:
    """Accept a current code of the account's Smart OTP, counting wrong ones.

    Wrong codes count in the account's login throttle (one counter with its passwords and
    its recovery codes), so a holder of a session cannot guess step-up codes without end.
    Runs its own transactions: call it before the change it guards, not inside it.
    """
    with ctx.sessions() as session:
        account = session.get(Account, account_id)
        if account is None:
            return False
        key, personal_id = account.bhxh, account.personal_id
        failures = read_failures(session, key)
    take_try(ctx, key, failures, action=STEP_UP_ACTION, account_id=account_id, tries=CODE_TRIES)
    with ctx.sessions.begin() as session:
        accepted = use_code(session, account_id, code, ctx.now)
        if accepted:
            clear_failures(session, [key, personal_id])
        else:
            record_failure(session, key, ctx.now)
    return accepted


def require_step_up(ctx: AccountContext, owner: Claims | int, code: str | None) -> None:
    """Refuse (403 smart_otp_required) unless Smart OTP is off or ``code`` is a current one.

    ``owner`` is a login token (checked first: a signed-out one hears nothing of Smart OTP and
    spends no code) or the id of an account whose password was just proven. Runs before the
    caller's transaction (wrong codes are counted and must stay counted).
    """
    with ctx.sessions() as session:
        account_id = owner if isinstance(owner, int) else account_for(session, owner).id
        required = enabled_since(session, account_id) is not None
    if required and not (code and prove_code(ctx, account_id, code)):
        raise StepUpRequired(STEP_UP, why=Why.SMART_OTP_NEEDED)


def begin_enrolment(ctx: AccountContext, claims: Claims, code: str | None) -> Enrolment:
    """Make a seed for the app (a recent full sign-in; replacing one needs its current code)."""
    require_recent_proof(claims, ctx.now)
    require_step_up(ctx, claims, code)
    with ctx.sessions.begin() as session:
        account = _lock(session, claims)
        device = session.get(SmartOtp, account.id) or SmartOtp(account_id=account.id)
        device.pending_secret, device.pending_since = totp.new_secret(), ctx.now
        session.add(device)
        ctx.audit_account(session, account, "smart_otp_enrol", "started")
        assert device.pending_secret is not None
        return Enrolment(
            device.pending_secret,
            totp.provisioning_uri(device.pending_secret, name=account.bhxh, issuer=ISSUER),
        )


def confirm_enrolment(ctx: AccountContext, claims: Claims, code: str) -> None:
    """Turn the shown seed on once a code from the app matches it; tell the owner everywhere."""
    with ctx.sessions.begin() as session:
        account = _lock(session, claims)
        device = session.get(SmartOtp, account.id)
        pending = device.pending_secret if device is not None else None
        fresh = device is not None and device.pending_since is not None
        if device is None or pending is None or not fresh:
            raise NotFound(
                "no Smart OTP enrolment is waiting: start again", why=Why.SMART_OTP_ENROLMENT_GONE
            )
        assert device.pending_since is not None
        step = totp.matching_step(pending, code, ctx.now)
        if device.pending_since + PENDING_TTL < ctx.now or step is None:
            raise InvalidPayload(
                "the code does not match the new Smart OTP: check the app's time, or start again",
                code="invalid_code",
                why=Why.SMART_OTP_CODE_MISMATCH,
            )
        replaced = device.secret is not None
        device.secret, device.enabled_at, device.last_step = pending, ctx.now, step
        device.pending_secret = device.pending_since = None
        ctx.notify(session, account, Reply.SMART_OTP_ON, EmailKind.SMART_OTP_ON)
        outcome = "replaced" if replaced else "enabled"
        ctx.audit_account(session, account, "smart_otp_enrol", outcome)


def disable(ctx: AccountContext, claims: Claims, code: str | None) -> None:
    """Turn Smart OTP off: a recent sign-in and a current code, or a recovery's session."""
    if not claims.restricted:
        require_recent_proof(claims, ctx.now)
        require_step_up(ctx, claims, code)
    with ctx.sessions.begin() as session:
        account = _lock(session, claims)
        if not turn_off(ctx, session, account, actor="user"):
            raise NotFound("this account has no Smart OTP", why=Why.SMART_OTP_OFF)


def turn_off(
    ctx: AccountContext, session: Session, account: Account, *, actor: str, reason: str = ""
) -> bool:
    """Forget the account's seeds in the caller's transaction; tell the owner and audit.

    Return whether Smart OTP was on; a seed still waiting for its first code goes quietly.
    """
    device = session.get(SmartOtp, account.id, with_for_update=True)
    if device is None:
        return False
    session.delete(device)
    if device.enabled_at is None:
        return False
    ctx.notify(session, account, Reply.SMART_OTP_OFF, EmailKind.SMART_OTP_OFF)
    ctx.audit_account(
        session, account, "smart_otp_disable", "disabled", actor=actor, detail=reason or None
    )
    return True


def _lock(session: Session, claims: Claims) -> Account:
    account = account_for(session, claims)
    session.refresh(account, with_for_update=True)
    return account
