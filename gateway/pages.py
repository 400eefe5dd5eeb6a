"""What every server-rendered area (the staff console, the citizens' portal) shares.

Each area gets a cookie of its own (name, path, signing key), CSRF on every form (Flask-WTF)
and the same protective headers. An area describes itself once in a :class:`PageArea` and
gives each of its blueprints to :func:`guard`, so no page can forget a rule and the two areas
cannot drift apart; what differs (words, who is signed in, CSP) is configuration. Requests
outside every area (the JSON API, the webhooks) get no cookie at all: their session is a null
session, which refuses to be written to. Each area says a refusal in its own words, chosen by
the refusal's code (:class:`RefusalWords`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from flask import Blueprint, Flask, Request, Response, g, render_template, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, CSRFProtect
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from gateway.errors import InvalidPayload, Why

log = logging.getLogger(__name__)
csrf = CSRFProtect()


class Refusal(Protocol):
    """What a page needs of a refusal: its code and the numbers it speaks of (never the
    English reason, which may be reworded at will)."""

    @property
    def why(self) -> Why | None: ...

    @property
    def numbers(self) -> Mapping[str, int]: ...


@dataclass(frozen=True, slots=True)
class RefusalWords:
    """One area's words for refusals: a text per :class:`Why`, ``{name}`` standing for the
    refusal's number of that name, and the sentence for anything the table does not know."""

    table: Mapping[Why, str]
    fallback: str

    def but(self, table: Mapping[Why, str]) -> RefusalWords:
        """Return these words with some texts of one page's own (where it says more)."""
        return RefusalWords({**self.table, **table}, self.fallback)

    def __call__(self, refusal: Refusal | Why) -> str:
        """Return the words for a refusal (or for a bare code, which has no numbers)."""
        why: Why | None
        numbers: Mapping[str, int]
        if isinstance(refusal, Why):
            why, numbers = refusal, {}
        else:
            why, numbers = refusal.why, refusal.numbers
        text = self.table.get(why) if why is not None else None
        if text is None:
            return self.fallback
        try:
            return text.format_map(numbers)
        except (KeyError, IndexError, ValueError):
            log.warning("refusal %s lacks a number its words need: %s", why, sorted(numbers))
            return self.fallback


def derived_key(secret_key: str, purpose: str) -> str:
    """Return a key for one purpose, derived from the gateway's secret (HMAC-SHA256, hex)."""
    return hmac.new(secret_key.encode(), purpose.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class CookieArea:
    """One area's session cookie: which paths it serves, and how the cookie is set."""

    name: str  # the cookie's name, and what its signing key is derived for
    prefixes: tuple[str, ...]  # request paths of the area
    path: str  # the cookie's Path attribute
    secure: bool
    lifetime: dt.timedelta | None  # None: a browser-session cookie

    def serves(self, path: str) -> bool:
        """Say whether a request path belongs to this area."""
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.prefixes)


class AreaSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with a cookie per area instead of one for the app."""

    def __init__(self, areas: Sequence[CookieArea], secret_key: str) -> None:
        self.areas = tuple(areas)
        # A key per area, derived from the gateway's: one area's cookie never opens another,
        # and no cookie can pass for a login token.
        self._keys = {a.name: derived_key(secret_key, f"{a.name} session cookie") for a in areas}

    def area_of(self, req: Request) -> CookieArea | None:
        """Return the area a request belongs to, or None."""
        return next((a for a in self.areas if a.serves(req.path)), None)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        area = self.area_of(request)
        if area is None:
            return None  # Flask makes it a null session
        serializer = self._serializer(area)
        cookie = request.cookies.get(area.name)
        if not cookie:
            return self.session_class()
        max_age = int(area.lifetime.total_seconds()) if area.lifetime else None
        try:
            return self.session_class(serializer.loads(cookie, max_age=max_age))
        except BadSignature:
            return self.session_class()

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        area = self.area_of(request)
        if area is None:
            return
        response.vary.add("Cookie")
        if not session:
            if session.modified:
                response.delete_cookie(area.name, path=area.path, secure=area.secure)
            return
        if not (session.modified or (session.permanent and area.lifetime)):
            return
        expires = dt.datetime.now(dt.UTC) + area.lifetime if area.lifetime else None
        response.set_cookie(
            area.name,
            self._serializer(area).dumps(dict(session)),
            expires=expires if session.permanent else None,
            path=area.path,
            secure=area.secure,
            httponly=True,
            samesite="Lax",
        )

    def _serializer(self, area: CookieArea) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(
            self._keys[area.name],
            salt="cookie-session",
            serializer=self.serializer,
            signer_kwargs={"key_derivation": "hmac", "digest_method": self.digest_method},
        )


def install(app: Flask, areas: Sequence[CookieArea], secret_key: str) -> None:
    """Give each area its cookie, and CSRF checking to the areas that ask for it."""
    # Flask-WTF signs its tokens with the app's key: derived, so it is not the gateway's own.
    app.secret_key = derived_key(secret_key, "form tokens")
    app.session_interface = AreaSessions(areas, secret_key)
    app.config.update(
        # Only the areas' forms are checked (in protect_forms); webhooks and the API never are.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as its session
    )
    csrf.init_app(app)


def protect_forms() -> None:
    """Refuse a state-changing request without this session's CSRF token (CSRFError, 400)."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def set_page_headers(response: Response, *, csp: str, referrer: str) -> Response:
    """Add the headers every page carries: its CSP, no framing, no sniffing, no caching."""
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = referrer
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class PageArea:
    """One area's pages: its error page and words, its headers, and its own first steps."""

    error_page: str  # the template, given ``status`` and ``message``
    csp: str
    referrer: str  # the Referrer-Policy, unless a page sets ``g.referrer_policy``
    # Reads who is signed in, before the CSRF check; may answer instead of the page.
    open_session: Callable[[], ResponseReturnValue | None]
    csrf_words: str  # a form whose CSRF token is missing, wrong or stale
    invalid_words: str | None  # an InvalidPayload; None: the refusal's own reason
    http_words: Mapping[int, str]  # by HTTP status
    http_fallback: str  # any other status
    say_description: bool = False  # before the fallback: the exception's own description
    # After the CSRF check: the area's own refusals of a form's fields (raise InvalidPayload).
    check_form: Callable[[], None] = _nothing

    def error(self, status: int, message: str, **context: object) -> tuple[str, int]:
        """Render the area's error page with this status and message."""
        page = render_template(self.error_page, status=status, message=message, **context)
        return page, status

    def http_message(self, exc: HTTPException) -> str:
        """Return the words for an HTTP error."""
        description = exc.description if self.say_description else None
        return self.http_words.get(exc.code or 500) or description or self.http_fallback


def guard(bp: Blueprint, area: PageArea) -> None:
    """Give a blueprint its area's session, CSRF, header and error rules."""

    @bp.before_request
    def _before() -> ResponseReturnValue | None:
        answer = area.open_session()
        if answer is not None:
            return answer
        protect_forms()
        area.check_form()
        return None

    @bp.after_request
    def _headers(response: Response) -> Response:
        referrer = g.get("referrer_policy", area.referrer)  # a page with a secret in its URL
        return set_page_headers(response, csp=area.csp, referrer=referrer)

    @bp.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> ResponseReturnValue:
        return area.error(400, area.csrf_words)

    @bp.errorhandler(InvalidPayload)
    def _invalid(exc: InvalidPayload) -> ResponseReturnValue:
        return area.error(400, area.invalid_words or exc.reason)

    @bp.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        return area.error(exc.code or 500, area.http_message(exc))
