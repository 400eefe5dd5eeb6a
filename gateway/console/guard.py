"""What every console page shares: the signed-in member, roles, CSRF, timeouts, headers.

Each console blueprint calls :func:`protect`, so no page can forget a rule.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Flask,
    g,
    redirect,
    request,
    session,
    url_for,
)

from gateway import pages
from gateway.console import formatting
from gateway.console.staff import audit
from gateway.models import StaffMember
from gateway.settings import Settings
from gateway.web import db_session, runtime

F = TypeVar("F", bound=Callable[..., Any])

# No inline script or style anywhere: the console's own files only. Charts draw with the
# vendored Chart.js from /console/static; the QR code is inline SVG markup, not a data: URL.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HOME = {
    "finance": "console_finance.charges",
    "operator": "console_ops.overview",
    "support": "console_support.messages",
}
HOME_ADMIN = "console.staff_list"
# Endpoints that take a file, and how large: a month of a large carrier's records, with room.
UPLOADS = {"console_finance.reconciliation": 32 * 1024 * 1024}
HTTP_403 = "Trang này nằm ngoài vai trò của bạn."


def install(app: Flask) -> None:
    """Set up the console's template helpers (its cookie is :func:`cookie_area`)."""
    formatting.install(app)


def cookie_area(settings: Settings) -> pages.CookieArea:
    """Return the console's session cookie: its own name and path, timing out when idle."""
    return pages.CookieArea(
        name="gw_console",
        prefixes=("/console",),
        path="/console",
        secure=settings.console_secure_cookies,
        lifetime=settings.console_idle_timeout,
    )


def _open_session() -> None:
    g.staff = _signed_in()
    if g.staff is not None and request.endpoint in UPLOADS:
        # Only a signed-in member may send a carrier's file; everyone else keeps the
        # gateway's small body limit, even before the CSRF check reads the form.
        request.max_content_length = UPLOADS[request.endpoint]


AREA = pages.PageArea(
    error_page="console/error.html",
    csp=CSP,
    referrer="same-origin",
    open_session=_open_session,
    csrf_words="Phiên biểu mẫu đã hết hạn hoặc không hợp lệ. Tải lại trang và thử lại.",
    invalid_words=None,  # the console's forms give their reasons in Vietnamese
    http_words={403: HTTP_403, 404: "Không tìm thấy trang.", 413: "Tệp quá lớn."},
    http_fallback="Lỗi",
    say_description=True,
)


def protect(bp: Blueprint) -> None:
    """Give a console blueprint the session, CSRF, timeout, header and error rules."""
    pages.guard(bp, AREA)


def _signed_in() -> StaffMember | None:
    staff_id, version = session.get("staff_id"), session.get("version")
    seen, since = session.get("seen"), session.get("since")
    if staff_id is None or seen is None or since is None:
        return None
    now = runtime().clock.now()
    settings = runtime().settings
    idle = now - dt.datetime.fromtimestamp(seen, dt.UTC) > settings.console_idle_timeout
    old = now - dt.datetime.fromtimestamp(since, dt.UTC) > settings.console_session_lifetime
    if idle or old:
        session.clear()
        g.timed_out = True
        return None
    staff = db_session().get(StaffMember, staff_id)
    if staff is None or staff.session_version != version or staff.disabled_at is not None:
        session.clear()
        return None
    session["seen"] = int(now.timestamp())
    return staff


def start_session(staff: StaffMember) -> None:
    """Sign a member in: a fresh session (no fixation), tied to their credentials' version."""
    session.clear()
    session.permanent = True
    session["staff_id"] = staff.id
    session["version"] = staff.session_version
    # The idle timeout slides with "seen"; the absolute lifetime counts from "since".
    session["since"] = session["seen"] = int(runtime().clock.now().timestamp())


def requires(*roles: str) -> Callable[[F], F]:
    """Let only signed-in members with one of ``roles`` in; others get sign-in or 403."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            staff: StaffMember | None = g.get("staff")
            if staff is None:
                expired = 1 if g.get("timed_out") else None
                return redirect(url_for("console.sign_in", expired=expired))
            if staff.role not in roles:
                note(f"denied {request.path}", outcome="forbidden")
                db_session().commit()
                return AREA.error(403, HTTP_403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def home_of(staff: StaffMember) -> str:
    """Return the endpoint a member lands on after signing in."""
    return HOME.get(staff.role, HOME_ADMIN)


def client_ip() -> str:
    """The client's address as the app sees it (ProxyFix has applied GATEWAY_PROXY_HOPS)."""
    return request.remote_addr or "?"


def note(detail: str, *, action: str = "console_action", outcome: str = "ok") -> None:
    """Add an audit row for the signed-in member's action (committed with the use case)."""
    staff: StaffMember | None = g.get("staff")
    now = runtime().clock.now()
    who = staff.email if staff else "?"
    audit(db_session(), who, action, outcome, now, client_ip(), detail)
