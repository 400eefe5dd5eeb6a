"""The rules every page area's blueprints share: the session first, CSRF, headers, error pages.

An area (the citizens' portal, the staff console) describes itself once in a :class:`PageArea`
and gives each of its blueprints to :func:`guard`, so no page can forget a rule and the two
areas cannot drift apart; what differs (words, who is signed in, CSP) is configuration. Only
Flask and the process helpers here (``gateway.pages``): both areas may import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import Blueprint, Response, g, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from gateway import pages
from gateway.errors import InvalidPayload


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
        pages.protect_forms()
        area.check_form()
        return None

    @bp.after_request
    def _headers(response: Response) -> Response:
        referrer = g.get("referrer_policy", area.referrer)  # a page with a secret in its URL
        return pages.set_page_headers(response, csp=area.csp, referrer=referrer)

    @bp.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> ResponseReturnValue:
        return area.error(400, area.csrf_words)

    @bp.errorhandler(InvalidPayload)
    def _invalid(exc: InvalidPayload) -> ResponseReturnValue:
        return area.error(400, area.invalid_words or exc.reason)

    @bp.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        return area.error(exc.code or 500, area.http_message(exc))
