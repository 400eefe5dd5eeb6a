"""Log in, prove a password, set a new one: the use cases every front door calls.

No lock is ever held across a hash (issue 17). Each use case reads what the check needs in a
read-only transaction (SQLite: BEGIN DEFERRED, which waits for nobody), verifies or hashes
outside any transaction, then records the outcome in a short write transaction that re-checks
what the check depended on (the password hash, the temporary password) and refuses if it
changed meanwhile. That is why these functions take a session *factory*: the transactions
are theirs, and a refusal's count is committed before the refusal is raised.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.accounts.context import AccountContext
from gateway.accounts.notices import notify_password_changed
from gateway.accounts.passwords import keyed_hash_matches
from gateway.accounts.policy import check_new_password, identifiers_of, refuse_same_password
from gateway.accounts.services import find_active_account, set_password
from gateway.accounts.sessions import Claims, account_for, password_version
from gateway.accounts.throttle import (
    Failures,
    capped,
    claim_try,
    clear_failures,
    read_failures,
    record_failure,
    throttle_key,
    wait_left,
)
from gateway.errors import (
    InvalidCredentials,
    PasswordChangeRequired,
    TooManyAttempts,
    Why,
)
from gateway.models import Account, AccountState
from gateway.ops.audit import record_event
from parsers import mask_id

WRONG = "wrong number or password"
# Only someone holding the real temporary password can get this answer: it tells them nothing
# they could use (it matched, and it is spent), and tells the owner if someone else used it.
USED_TEMPORARY = (
    "this temporary password was already used; set a new password, or request a new one "
    "if it was not you who used it"
)
CAPPED = "too many wrong passwords: recover the password by SMS or email to log in again"


@dataclass(frozen=True, slots=True)
class Tries:
    """What the throttle's refusals of one kind of guess say: the English noun and the
    capped sentence, and the :class:`Why` of each."""

    noun: str
    wait: Why
    capped_reason: str
    capped: Why


PASSWORD_TRIES = Tries("passwords", Why.LOGIN_WAIT, CAPPED, Why.LOGIN_CAPPED)


@dataclass(frozen=True, slots=True)
class Granted:
    """A successful login: the account, and whether the session may only set a password."""

    account: Account
    restricted: bool


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What one read saw: the account's secrets (if it is usable) and the failure count."""

    key: str
    failures: Failures
    account_id: int | None = None
    password_hash: str | None = None
    temp_hash: str | None = None
    temp_live: bool = False
    temp_used: bool = False
    identifiers: tuple[str, ...] = ()


def log_in(ctx: AccountContext, identifier: str, password: str) -> Granted:
    """Check a login; a temporary password logs in once, into a restricted session."""
    snap = _read(ctx, identifier)
    if snap.temp_live and keyed_hash_matches(ctx.settings.secret_key, snap.temp_hash, password):
        # Before the throttle: someone else's wrong guesses never refuse the owner's code.
        granted = None if snap.temp_used else _use_temporary(ctx, snap)
        if granted is not None:
            return granted
        _fail(ctx, snap, "login", "temporary_used")
        raise InvalidCredentials(USED_TEMPORARY, why=Why.TEMPORARY_PASSWORD_USED)
    _throttle(ctx, snap, "login")
    if not ctx.hasher.verify(snap.password_hash, password):
        _fail(ctx, snap, "login", "wrong_password")
        raise InvalidCredentials(WRONG, why=Why.WRONG_PASSWORD)
    assert snap.password_hash is not None
    rehashed = ctx.hasher.hash(password) if ctx.hasher.needs_rehash(snap.password_hash) else None
    with ctx.sessions.begin() as session:
        account = _recheck(session, snap)
        if account is not None:
            if rehashed is not None:
                account.password_hash = rehashed  # same password: its version stays
            clear_failures(session, [snap.key, account.personal_id])
        _audit(ctx, session, snap, "login", "success" if account else "stale")
    if account is None:
        raise InvalidCredentials(WRONG, why=Why.WRONG_PASSWORD)
    return Granted(account, restricted=account.must_change_password)


def prove_chosen_password(
    ctx: AccountContext, identifier: str, password: str, *, action: str
) -> Account:
    """Prove the account's own chosen password (never a temporary one), counting failures."""
    snap = _read(ctx, identifier)
    _throttle(ctx, snap, action)
    if not ctx.hasher.verify(snap.password_hash, password):
        _fail(ctx, snap, action, "wrong_password")
        raise InvalidCredentials(WRONG, why=Why.WRONG_PASSWORD)
    with ctx.sessions.begin() as session:
        account = _recheck(session, snap)
        if account is not None:
            clear_failures(session, [snap.key])
        else:
            _audit(ctx, session, snap, action, "stale")
    if account is None:
        raise InvalidCredentials(WRONG, why=Why.WRONG_PASSWORD)
    if account.must_change_password:
        raise PasswordChangeRequired(
            "set your own password first, then try again", why=Why.OWN_PASSWORD_FIRST
        )
    return account


def change_password(ctx: AccountContext, identifier: str, password: str, new: str) -> Account:
    """Replace the password after proving the current chosen one; tell the owner everywhere."""
    snap = _read(ctx, identifier)
    _throttle(ctx, snap, "password_change")
    if not ctx.hasher.verify(snap.password_hash, password):
        _fail(ctx, snap, "password_change", "wrong_password")
        raise InvalidCredentials(WRONG, why=Why.WRONG_PASSWORD)
    if new == password:
        refuse_same_password()
    _check_policy(ctx, new, snap.identifiers)
    new_hash = ctx.hasher.hash(new)
    return _store(ctx, snap.account_id, new_hash, expected_hash=snap.password_hash)


def set_password_with_session(ctx: AccountContext, claims: Claims, new: str) -> Account:
    """Set a new password with a login token (the restricted one after a temporary password)."""
    with ctx.sessions() as session:
        _read_only(session)
        account = account_for(session, claims)
        identifiers = identifiers_of(account)
    _check_policy(ctx, new, identifiers)
    new_hash = ctx.hasher.hash(new)
    return _store(ctx, account.id, new_hash, expected_version=claims.version)


def throttle_subject(session: Session, identifier: str) -> tuple[str, Account | None]:
    """Return the throttle key of what was typed and its account: one counter per account
    (its social insurance number, whichever identifier was typed), the typed key otherwise."""
    typed = throttle_key(identifier)
    account = find_active_account(session, typed)
    return (account.bhxh if account is not None else typed), account


def _read(ctx: AccountContext, identifier: str) -> _Snapshot:
    with ctx.sessions() as session:
        _read_only(session)
        key, account = throttle_subject(session, identifier)
        failures = read_failures(session, key)
        if account is None:
            return _Snapshot(key, failures)
        expires = account.temp_password_expires_at
        return _Snapshot(
            key,
            failures,
            account_id=account.id,
            password_hash=account.password_hash,
            temp_hash=account.temp_password_hash,
            temp_live=expires is not None and expires > ctx.now,
            temp_used=account.temp_password_logged_in,
            identifiers=identifiers_of(account),
        )


def _read_only(session: Session) -> None:
    # A deferred transaction on SQLite takes no write lock; other databases ignore the option.
    session.connection(execution_options={"sqlite_begin": "DEFERRED"})


def _use_temporary(ctx: AccountContext, snap: _Snapshot) -> Granted | None:
    with ctx.sessions.begin() as session:
        # Conditional: of two logins racing with one temporary password, exactly one wins.
        used = session.execute(
            update(Account)
            .where(
                Account.id == snap.account_id,
                Account.state == AccountState.ACTIVE,
                Account.temp_password_hash == snap.temp_hash,
                Account.temp_password_logged_in.is_(False),
                Account.temp_password_expires_at > ctx.now,
            )
            .values(temp_password_logged_in=True, updated_at=ctx.now)
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]
            return None
        account = session.get(Account, snap.account_id)
        assert account is not None
        clear_failures(session, [snap.key, account.bhxh, account.personal_id])
        _audit(ctx, session, snap, "login", "temporary_password")
    return Granted(account, restricted=True)


def take_try(
    ctx: AccountContext,
    key: str,
    failures: Failures,
    *,
    action: str,
    account_id: int | None = None,
    tries: Tries = PASSWORD_TRIES,
) -> None:
    """Let one guess at ``key`` go on, or refuse it (429, audited) while the throttle waits.

    Past the free failures a finished wait allows one guess: it is taken here, atomically,
    so guesses sent together are all refused but one (gateway/accounts/throttle.py).
    """
    if capped(failures, ctx.settings):
        error, outcome = TooManyAttempts(tries.capped_reason, why=tries.capped), "capped"
    else:
        left = wait_left(failures, ctx.settings, ctx.now)
        if left is None:
            with ctx.sessions.begin() as session:
                if claim_try(session, key, failures, ctx.settings, ctx.now):
                    return
            # Another guess took the try this wait allowed: wait for the next one.
            left = wait_left(Failures(failures.consecutive, ctx.now), ctx.settings, ctx.now)
            assert left is not None
        seconds = int(left.total_seconds()) + 1
        error = TooManyAttempts(
            f"too many wrong {tries.noun}; try again in {seconds} s",
            why=tries.wait,
            numbers={"seconds": seconds},
        )
        outcome = "throttled"
    with ctx.sessions.begin() as session:
        ctx.audit(session, action, outcome, identifier=key, account_id=account_id)
    raise error


def _throttle(ctx: AccountContext, snap: _Snapshot, action: str) -> None:
    take_try(ctx, snap.key, snap.failures, action=action, account_id=snap.account_id)


def _fail(ctx: AccountContext, snap: _Snapshot, action: str, outcome: str) -> None:
    with ctx.sessions.begin() as session:
        record_failure(session, snap.key, ctx.now)
        _audit(ctx, session, snap, action, outcome)


def _recheck(session: Session, snap: _Snapshot) -> Account | None:
    """Load the account for writing; None if its password changed since we verified it."""
    account = session.get(Account, snap.account_id, with_for_update=True)
    if (
        account is None
        or account.state is not AccountState.ACTIVE
        or account.password_hash != snap.password_hash
    ):
        return None
    return account


def _store(
    ctx: AccountContext,
    account_id: int | None,
    new_hash: str,
    *,
    expected_hash: str | None = None,
    expected_version: str | None = None,
) -> Account:
    with ctx.sessions.begin() as session:
        account = session.get(Account, account_id, with_for_update=True) if account_id else None
        current = (
            account is not None
            and account.state is AccountState.ACTIVE
            and (
                password_version(account) == expected_version
                if expected_version is not None
                else account.password_hash == expected_hash
            )
        )
        if current:
            assert account is not None
            set_password(account, new_hash, ctx.now)
            clear_failures(session, [account.bhxh, account.personal_id])
            notify_password_changed(
                session, account, settings=ctx.settings, catalog=ctx.catalog, now=ctx.now
            )
        record_event(
            session,
            action="password_change",
            channel=ctx.channel,
            outcome="changed" if current else "stale",
            subject=mask_id(account.bhxh) if account else "unknown",
            account_id=account_id,
            client_ip=ctx.client_ip,
            now=ctx.now,
        )
    if not current or account is None:
        raise InvalidCredentials(
            "the password changed meanwhile; log in again", why=Why.PASSWORD_CHANGED_MEANWHILE
        )
    return account


def _check_policy(ctx: AccountContext, new: str, identifiers: tuple[str, ...]) -> None:
    check_new_password(new, identifiers=identifiers, min_length=ctx.settings.min_password_length)


def _audit(
    ctx: AccountContext, session: Session, snap: _Snapshot, action: str, outcome: str
) -> None:
    ctx.audit(session, action, outcome, identifier=snap.key, account_id=snap.account_id)
