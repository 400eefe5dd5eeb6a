"""The login API, so a person can use the password we sent and then choose their own."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from gateway.accounts.notices import notify_password_changed
from gateway.accounts.services import authenticate, change_password
from gateway.errors import InvalidCredentials
from gateway.models import Account
from gateway.ops.audit import record_event
from gateway.web import db_session, json_body, runtime, string_field
from parsers import mask_id

bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")


@bp.post("/login")
def login() -> ResponseReturnValue:
    """Log in with a social insurance number (or personal ID) and a password."""
    data = json_body()
    identifier, password = string_field(data, "bhxh", max_length=12), string_field(data, "password")
    session = db_session()
    result = authenticate(
        session, identifier, password, settings=runtime().settings, now=runtime().clock.now()
    )
    session.commit()  # failed attempts count even when we refuse
    if result.error is not None:
        raise result.error
    assert result.account is not None
    return jsonify(
        must_change_password=result.must_change_password, token=_issue_token(result.account)
    )


@bp.post("/password")
def set_password() -> ResponseReturnValue:
    """Change the password, proving the current one or the temporary one."""
    data = json_body()
    identifier = string_field(data, "bhxh", max_length=12)
    password = string_field(data, "password")
    new_password = string_field(data, "new_password")
    session = db_session()
    settings, now = runtime().settings, runtime().clock.now()
    result = change_password(
        session, identifier, password, new_password, settings=settings, now=now
    )
    if result.account is not None and result.error is None:
        notify_password_changed(
            session, result.account, settings=settings, catalog=runtime().catalog, now=now
        )
    record_event(
        session,
        action="password_change",
        channel="api",
        outcome="changed" if result.error is None else result.error.code,
        subject=mask_id(identifier),
        account_id=result.account.id if result.account else None,
        now=now,
    )
    session.commit()
    if result.error is not None:
        raise result.error
    assert result.account is not None
    return jsonify(status="changed", token=_issue_token(result.account))


@bp.get("/me")
def me() -> ResponseReturnValue:
    """Tell the holder of a login token which account it opens."""
    account = _account_from_token(request.headers.get("Authorization", ""))
    return jsonify(bhxh=account.bhxh, must_change_password=account.must_change_password)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(runtime().settings.secret_key, salt="gateway-login")


def _password_version(account: Account) -> str:
    # Changing the password changes this stamp, which voids every token issued before.
    return account.password_changed_at.isoformat() if account.password_changed_at else ""


def _issue_token(account: Account) -> str:
    return _serializer().dumps({"a": account.id, "v": _password_version(account)})


def _account_from_token(header: str) -> Account:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise InvalidCredentials("a Bearer token is required")
    max_age = int(runtime().settings.token_ttl.total_seconds())
    try:
        claims = _serializer().loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        raise InvalidCredentials("the token is invalid or expired") from None
    account = db_session().get(Account, claims.get("a"))
    if account is None or _password_version(account) != claims.get("v"):
        raise InvalidCredentials("the token is invalid or expired")
    return account
