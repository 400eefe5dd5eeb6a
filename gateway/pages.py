"""What every server-rendered area (the staff console, the citizens' portal) shares.

Each area gets a cookie of its own (name, path, signing key), CSRF on every form (Flask-WTF)
and the same protective headers. Requests outside every area (the JSON API, the webhooks) get
no cookie at all: their session is a null session, which refuses to be written to. Each area
says a refusal in its own words, chosen by the refusal's code (:class:`RefusalWords`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_wtf.csrf import CSRFProtect
from itsdangerous import BadSignature, URLSafeTimedSerializer

from gateway.errors import Why

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
