"""After any recovery: what can sign in to the account, and removing it in the same step.

Someone who took the account over (with an SMS read over a shoulder, say) may have added a
passkey or an email of their own; the owner's recovery must not leave them a way back. The
page that ends a recovery (the restricted set-password page; the email recovery's last page)
lists the account's passkeys, its email and its Smart OTP with the date each was added, as
checkboxes; the chosen ones are removed, with the usual notices and audit rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from gateway.accounts import smart_otp
from gateway.accounts.login import AccountContext
from gateway.email.change import remove_email
from gateway.errors import NotFound
from gateway.models import Account
from gateway.passkeys import credentials
from gateway.passkeys.credentials import PasskeyView

MAX_ID_DIGITS = 18  # fits a BIGINT; anything longer is not one of ours


@dataclass(frozen=True, slots=True)
class Review:
    """What the page lists: the passkeys, and the email with when it was added."""

    passkeys: list[PasskeyView]
    email: str | None
    email_added_at: dt.datetime | None
    smart_otp_since: dt.datetime | None = None

    def __bool__(self) -> bool:
        return bool(self.passkeys or self.email or self.smart_otp_since)


def review_of(ctx: AccountContext, account_id: int) -> Review:
    """Read what the owner should check after a recovery."""
    with ctx.sessions() as session:
        account = session.get(Account, account_id)
        if account is None:
            return Review([], None, None)
        return Review(
            credentials.list_passkeys(session, account_id),
            account.email,
            account.email_added_at,
            smart_otp.enabled_since(session, account_id),
        )


def apply_review(ctx: AccountContext, account_id: int, form: MultiDict[str, str]) -> int:
    """Remove the passkeys and the email ticked in ``form``; return how many were removed."""
    chosen = {
        int(value)
        for value in form.getlist("remove_passkey")
        if value.isdigit() and len(value) <= MAX_ID_DIGITS
    }
    drop_email = form.get("remove_email") == "1"
    drop_smart_otp = form.get("remove_smart_otp") == "1"
    if not (chosen or drop_email or drop_smart_otp):
        return 0
    removed = 0
    with ctx.sessions.begin() as session:
        account = session.get(Account, account_id, with_for_update=True)
        if account is None:
            return 0
        for passkey_id in sorted(chosen):
            try:
                credentials.remove_owned(ctx, session, account, passkey_id)
            except NotFound:  # removed meanwhile, or not this account's: nothing to do
                continue
            removed += 1
        if drop_email and account.email:
            remove_email(
                session,
                account,
                settings=ctx.settings,
                catalog=ctx.catalog,
                now=ctx.now,
                channel=ctx.channel,
                client_ip=ctx.client_ip,
            )
            removed += 1
        if drop_smart_otp and smart_otp.turn_off(ctx, session, account, actor="user"):
            removed += 1  # the phone may be what was lost: no code is asked here
    return removed
