"""What the account APIs share with the email APIs: the use cases' context, session answers."""

from __future__ import annotations

from flask import request

from gateway.accounts.login import AccountContext
from gateway.accounts.sessions import issue_token, token_ttl
from gateway.models import Account
from gateway.web import runtime


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
