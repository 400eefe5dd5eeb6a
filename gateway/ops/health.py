"""Operations endpoints: ``/healthz`` (alive), ``/readyz`` (able to serve) and ``/metrics``."""

from __future__ import annotations

import hmac
import ipaddress
import logging

from flask import Flask, Response, abort, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway import schema, web
from gateway.errors import InvalidCredentials
from gateway.ops import metrics

log = logging.getLogger(__name__)


def install(app: Flask) -> None:
    """Route the three endpoints at the top level, under the names dashboards know."""
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)
    app.add_url_rule("/metrics", "prometheus_metrics", prometheus_metrics)


def healthz() -> ResponseReturnValue:
    """Answer while the process runs, whatever the database does."""
    return jsonify(status="ok")


def readyz() -> ResponseReturnValue:
    """Answer 200 only when the database answers and its schema is current."""
    try:
        with web.runtime().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = schema.is_current(connection)
    except SQLAlchemyError as exc:
        log.warning("not ready: database unreachable (%s)", type(exc).__name__)
        return jsonify(status="unavailable", database="unreachable"), 503
    if not current:
        # New code on an old schema: keep it out of the load balancer until init-db ran.
        return jsonify(status="unavailable", database="ok", migrations="behind"), 503
    return jsonify(status="ready", database="ok", migrations="current")


def prometheus_metrics() -> ResponseReturnValue:
    """Expose the Prometheus metrics of every process of this deployment."""
    expected = web.runtime().settings.metrics_token
    if expected is None:
        # No token: this machine only. The settings refuse a bind beyond loopback without one,
        # but a proxy on this machine (or a Unix socket) can still bring the world here; with
        # GATEWAY_PROXY_HOPS, ProxyFix has put the real client in remote_addr. Answer as if
        # there were no such page, as for any path that does not exist.
        if not _loopback(request.remote_addr):
            abort(404)
    else:
        # Prometheus sends it with `authorization: {credentials: ...}` in its scrape config.
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), expected.encode()
        ):
            raise InvalidCredentials("a valid metrics bearer token is required")
    body, content_type = metrics.exposition(
        web.db_session(), web.runtime().clock.now(), request.headers.get("Accept")
    )
    return Response(body, content_type=content_type)


def _loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False  # a Unix socket's peer has no address: whatever forwarded it may be anyone
