"""What every portal page shares: its cookie, CSRF, headers, the signed-in account, errors.

Each portal blueprint calls :func:`protect`, so no page can forget a rule. A restricted
session (after a temporary password) opens the set-a-password page and nothing else.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from flask import (
    Blueprint,
    g,
    make_response,
    redirect,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from gateway import fields, pages
from gateway.accounts.sessions import Claims, account_for, issue_token, read_token
from gateway.delivery.emails import LOCAL_TZ
from gateway.errors import InvalidCredentials, RateLimited, RequestRefused
from gateway.models import Account
from gateway.settings import Settings
from gateway.web import db_session, runtime

# Scripts only from this origin (the passkey ceremonies, static/passkeys.js), never inline;
# the captcha image is a data: URL (its answer is never stored in the clear, so it cannot be
# drawn again by a second request).
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PREFIXES = (
    "/quen-mat-khau",
    "/dang-nhap",
    "/doi-mat-khau",
    "/tai-khoan",
    "/dang-xuat",
    "/kich-hoat",
)
LIMITED = "Có quá nhiều yêu cầu từ địa chỉ mạng này."
KEPT_FIELDS = ("bhxh", "email")  # kept across a 429 for the retry; never a secret
KEPT_LIMIT = 254
# What people put between the digits of a code: spaces, hyphens, dashes, dots (GOV.UK's
# security-code pattern accepts them).
CODE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212.]")
# What a restricted session may open: set its password, or leave.
RESTRICTED_OPENS = frozenset({"portal_account.change_password", "portal_account.sign_out"})


def cookie_area(settings: Settings) -> pages.CookieArea:
    """Return the portal's session cookie, separate from the console's."""
    return pages.CookieArea(
        name="gw_portal",
        prefixes=PREFIXES,
        path="/",  # the pages have no common prefix; other paths ignore this cookie
        secure=settings.portal_secure_cookies,
        lifetime=None,  # a browser-session cookie; the login token inside has its own expiry
    )


def _open_session() -> ResponseReturnValue | None:
    g.claims = _claims()
    if (
        g.claims is not None
        and g.claims.restricted
        and request.endpoint not in RESTRICTED_OPENS
        and request.endpoint != f"{request.blueprint}.static"
    ):
        return redirect(url_for("portal_account.change_password"), code=303)
    return None


def _check_form() -> None:
    for name, value in request.form.items(multi=True):
        # A NUL cannot be stored in PostgreSQL nor hashed by every library: refuse at the edge.
        fields.clean_text(value, name)


AREA = pages.PageArea(
    error_page="portal/error.html",
    csp=CSP,
    referrer="no-referrer",
    open_session=_open_session,
    csrf_words="Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang và thử lại.",
    invalid_words="Yêu cầu không hợp lệ. Hãy tải lại trang và thử lại.",
    http_words={
        404: "Không tìm thấy trang.",
        405: "Trang này không nhận yêu cầu như vậy.",
        413: "Nội dung gửi lên quá lớn.",
    },
    http_fallback="Không thực hiện được yêu cầu.",
    check_form=_check_form,
)


def protect(bp: Blueprint) -> None:
    """Give a portal blueprint the session, CSRF, restricted-session, header and error rules."""
    pages.guard(bp, AREA)

    @bp.context_processor
    def _help() -> dict[str, object]:
        settings = runtime().settings
        # Vietnamese groups thousands with dots: 1.000 đ.
        return {
            "hotline": settings.hotline,
            "shortcode": settings.shortcode,
            "charge": f"{settings.charge_vnd:,}".replace(",", "."),
            "min_length": settings.min_password_length,
            "otp_minutes": int(settings.otp_ttl.total_seconds() // 60),
        }

    @bp.app_template_filter("vn_date")
    def _vn_date(moment: dt.datetime) -> str:
        return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y")  # as Vietnamese write dates

    @bp.errorhandler(RateLimited)
    def _limited(exc: RateLimited) -> ResponseReturnValue:
        # The limit is counted before this blueprint's own before_request: read the session
        # here, so a signed-in person keeps the signed-in header.
        if "claims" not in g:
            g.claims = _claims()
        # What was typed (never a password or a code) waits in the session for the retry.
        kept = {
            name: request.form.get(name, "").strip()[:KEPT_LIMIT]
            for name in KEPT_FIELDS
            if request.method == "POST" and request.form.get(name, "").strip()
        }
        if kept:
            session["kept"] = kept
        response = make_response(
            AREA.error(
                429,
                LIMITED,
                wait=wait_in_words(exc.retry_after),
                retry=request.path if request.path.startswith(PREFIXES) else None,
                kept=kept,
            )
        )
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response


def typed_code(raw: str) -> str:
    """Return a code as typed or pasted without its grouping ("123 456", "123-456")."""
    return CODE_SEPARATORS.sub("", raw)


def wait_in_words(seconds: int | None) -> str:
    """Say how long to wait before trying again, in Vietnamese."""
    if seconds is None or seconds <= 0:
        return "Hãy đợi một lát rồi thử lại."
    if seconds < 90:
        return f"Hãy đợi {seconds} giây rồi thử lại."
    minutes = -(-seconds // 60)  # rounded up: never tell someone to come back too early
    if minutes < 90:
        return f"Hãy đợi {minutes} phút rồi thử lại."
    return f"Hãy đợi khoảng {-(-minutes // 60)} giờ rồi thử lại."


def kept_values() -> dict[str, str]:
    """Return (once) what was typed into a form that met the limit, for the retry."""
    kept = session.pop("kept", None)
    if not isinstance(kept, dict):
        return {}
    return {k: v for k, v in kept.items() if k in KEPT_FIELDS and isinstance(v, str)}


def _claims() -> Claims | None:
    token = session.get("token")
    if not isinstance(token, str):
        return None
    try:
        return read_token(token, settings=runtime().settings, now=runtime().clock.now())
    except InvalidCredentials:
        session.pop("token", None)
        return None


def start_session(account: Account, *, restricted: bool) -> None:
    """Sign the person in: a fresh cookie (no fixation) holding a login token."""
    session.clear()
    session["token"] = issue_token(
        account, settings=runtime().settings, restricted=restricted, now=runtime().clock.now()
    )


def to_sign_in() -> ResponseReturnValue:
    """Send someone whose session is missing or has ended to the sign-in page."""
    return redirect(url_for("portal_account.sign_in"), code=303)


def signed_in() -> Claims | None:
    """Return the signed-in session's claims, or None."""
    return g.get("claims")  # type: ignore[no-any-return]


def signed_in_account() -> Account | None:
    """Return the signed-in account (detached, read-only), or None; a stale session ends."""
    claims = signed_in()
    if claims is None:
        return None
    db = db_session()
    try:
        account = account_for(db, claims)
        db.expunge(account)  # its columns stay readable after the read ends
    except RequestRefused:  # the password changed elsewhere, or the account was disabled
        session.clear()
        return None
    finally:
        # End this read now: the use cases run their own transactions, and on SQLite an open
        # one here would hold the write lock they wait for.
        db.rollback()
    return account


P = ParamSpec("P")
T = TypeVar("T")


def _signed_in_only(
    read: Callable[[], T | None],
) -> Callable[[Callable[Concatenate[T, P], ResponseReturnValue]], Callable[P, ResponseReturnValue]]:
    """Make a decorator that opens a page to signed-in people only, giving the view what
    ``read`` returns for them, and sends anyone else to sign in."""

    def decorate(
        view: Callable[Concatenate[T, P], ResponseReturnValue],
    ) -> Callable[P, ResponseReturnValue]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            who = read()
            if who is None:
                return to_sign_in()
            return view(who, *args, **kwargs)

        return wrapped

    return decorate


# A page for signed-in people, given their session's claims.
with_claims = _signed_in_only(signed_in)
# A page for signed-in people, given their (detached) account; a session ended meanwhile
# (the password changed elsewhere) is sent to sign in too.
with_account = _signed_in_only(signed_in_account)
