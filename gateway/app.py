"""The Flask application factory. It wires things together and does no work."""

from __future__ import annotations

import logging
import os
import time

from flask import Flask, Response, g, redirect, request, url_for
from sqlalchemy.orm import configure_mappers
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway import pages, web
from gateway.accounts import login_api, passwords, smart_otp_api
from gateway.clock import Clock
from gateway.console import auth_views, finance_views, guard, ops_views, support_views
from gateway.email import change_api, recovery_api
from gateway.finance import api as finance_api
from gateway.ops import health, logs, metrics, ratelimits
from gateway.passkeys import api as passkeys_api
from gateway.portal import account_views, passkey_views, recovery_views, smart_otp_views
from gateway.portal import guard as portal_guard
from gateway.runtime import build_runtime
from gateway.settings import Settings, load_settings
from gateway.sms import webhooks

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Flask:
    """Build the web app; with no settings, read them from the environment."""
    settings = settings or load_settings(os.environ)
    app = Flask(__name__, instance_path=str(settings.instance_dir.resolve()), static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    if settings.proxy_hops:
        # Behind N reverse proxies, trust their X-Forwarded-For/-Proto: the carriers' IP
        # allow-lists must see the carrier's address, not the proxy's.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops
        )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    # Once, here: under gunicorn's preload every worker, also each recycled one, inherits
    # configured mappers instead of configuring them during its first request.
    configure_mappers()
    runtime = app.extensions["gateway"] = build_runtime(settings, clock)
    passwords.configure_hashing(
        settings.hash_concurrency,
        settings.instance_dir / "locks",
        settings.hash_wait,
        settings.web_threads,
    )
    web.install(app)
    _install_observability(app)
    ratelimits.install(app, settings, runtime.engine)
    health.install(app)
    for blueprint in (
        webhooks.bp,
        login_api.bp,
        finance_api.bp,
        recovery_api.bp,
        change_api.bp,
        passkeys_api.bp,
        smart_otp_api.bp,
    ):
        app.register_blueprint(blueprint)
    # The pages: the staff console and the citizens' portal, each with a cookie of its own.
    areas = [guard.cookie_area(settings), portal_guard.cookie_area(settings)]
    pages.install(app, areas, settings.secret_key)
    guard.install(app)
    for blueprint in (auth_views.bp, finance_views.bp, ops_views.bp, support_views.bp):
        app.register_blueprint(blueprint)
    app.config["PASSKEYS_ENABLED"] = settings.webauthn.rp_id is not None
    portal = (recovery_views.bp, account_views.bp, passkey_views.bp, smart_otp_views.bp)
    for blueprint in portal:
        app.register_blueprint(blueprint)
    # The address the server's banner prints: people land on the portal, not on a JSON 404.
    app.add_url_rule("/", "home", lambda: redirect(url_for("portal_account.sign_in")))

    return app


def _install_observability(app: Flask) -> None:
    """Give each request an id for its log lines and time it by endpoint."""

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        logs.request_id.set(logs.accept_request_id(request.headers.get(logs.REQUEST_ID_HEADER)))

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers[logs.REQUEST_ID_HEADER] = logs.request_id.get()
        endpoint = web.endpoint_label()
        reason = web.refusal_reason(response)
        if reason is not None:
            metrics.count_refused(endpoint, reason)
        if "started" in g:
            elapsed = time.perf_counter() - g.started
            metrics.observe_request(endpoint, web.carrier_label(), elapsed)
        return response

    @app.teardown_request
    def _forget(_exc: BaseException | None) -> None:
        logs.request_id.set(logs.NO_REQUEST)
