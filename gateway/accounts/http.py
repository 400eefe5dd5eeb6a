"""What the account APIs share with the email APIs: the use cases' context, session answers."""

from __future__ import annotations

from flask import request

from gateway.accounts.login import AccountContext
from gateway.accounts.sessions import Claims, bearer_token, issue_token, read_token, token_ttl
from gateway.errors import InvalidCredentials
from gateway.models import Account
from gateway.web import runtime

STEP_UP_HEADER = "X-Smart-OTP"
CODE_LENGTH = 16  # a 6-digit code, perhaps with spaces; anything longer is not one


def step_up_code() -> str | None:
    """Return the Smart OTP step-up code of this request's ``X-Smart-OTP`` header, if any."""
    code = request.headers.get(STEP_UP_HEADER, "").strip()
    return code[:CODE_LENGTH] or None


def bearer_claims() -> Claims:
    """Return the claims of this request's ``Authorization: Bearer`` login token (refused
    without one, or when it is not a current login token)."""
    token = bearer_token(request.headers.get("Authorization", ""))
    if token is None:
        raise InvalidCredentials("a Bearer token is required")
    return read_token(token, settings=runtime().settings, now=runtime().clock.now())


def account_context(channel: str = "api") -> AccountContext:
    """Build the account use cases' context for this request."""
    rt = runtime()
    return AccountContext(
        sessions=rt.session_factory,
        settings=rt.settings,
        catalog=rt.catalog,
        hasher=rt.hasher,
        now=rt.clock.now(),
        client_ip=request.remote_addr,  # ProxyFix has applied GATEWAY_PROXY_HOPS
        channel=channel,
    )


def session_answer(account: Account, *, restricted: bool) -> dict[str, object]:
    """Return the JSON of a new login session (a token and what it allows)."""
    settings = runtime().settings
    return {
        "must_change_password": restricted,
        "token": issue_token(
            account, settings=settings, restricted=restricted, now=runtime().clock.now()
        ),
        "expires_in": int(token_ttl(settings, restricted=restricted).total_seconds()),
    }
