"""Carrier-facing endpoints: inbound messages (MO) and delivery reports (DLR).

Every request follows one order: verify the caller, parse, skip a repeat, record, answer.
The carrier's kind (``CARRIER_<NAME>_KIND``, gateway/carriers/) decides how the caller is
verified, how the request reads and what the answer looks like; the rest is the same for all.
Nothing is stored for a refused request, and the answer never waits for password hashing
or any outbound call: those belong to the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import MethodNotAllowed, RequestEntityTooLarge

from gateway.carriers.base import Answer
from gateway.carriers.kind import Webhooks
from gateway.carriers.registry import kind_of
from gateway.carriers.wire import WebhookRequest
from gateway.delivery.outbox import record_delivery
from gateway.errors import (
    InvalidPayload,
    PayloadTooLarge,
    RequestRefused,
    UnknownCarrier,
    WrongShortcode,
)
from gateway.settings import CarrierSettings
from gateway.sms.inbox import accept_inbound
from gateway.web import db_session, note_refusal, runtime
from parsers import mask_phone

log = logging.getLogger(__name__)
bp = Blueprint("sms_webhooks", __name__, url_prefix="/carriers")


@bp.route("/<carrier>/mo", methods=["GET", "POST"])
def receive_mo(carrier: str) -> ResponseReturnValue:
    """Store one inbound SMS and acknowledge it (or its repeat)."""
    return _handle(carrier, "MO", _store_mo)


@bp.route("/<carrier>/dlr", methods=["GET", "POST"])
def receive_dlr(carrier: str) -> ResponseReturnValue:
    """Record a delivery report for one of our replies."""
    return _handle(carrier, "DLR", _store_dlr)


def _handle(
    carrier: str,
    what: str,
    store: Callable[[CarrierSettings, Webhooks, WebhookRequest], Answer],
) -> ResponseReturnValue:
    config, kind, hook = _incoming(carrier)
    try:
        return _respond(store(config, kind, hook))
    except RequestRefused as exc:
        # Answered in the carrier's own shape (vnmo even with HTTP 200): name the reason
        # for the refused-requests metric, which could not read it from the answer.
        note_refusal(exc.code)
        log.info("%s for %s refused: %s (%s)", what, config.name, exc.code, exc.reason)
        return _respond(kind.answer_refused(hook, exc))
    except Exception:
        if kind.answer_failure is None:
            raise
        log.exception("%s for %s failed", what, config.name)
        return _respond(kind.answer_failure(hook))


def _store_mo(config: CarrierSettings, kind: Webhooks, hook: WebhookRequest) -> Answer:
    settings = runtime().settings
    now = runtime().clock.now()
    kind.verify(hook, config, now, settings.signature_tolerance)
    sms = kind.parse_inbound(hook)
    if not settings.answers_to(sms.recipient):
        raise WrongShortcode(f"to must be {settings.shortcode}")
    intake = accept_inbound(runtime().engine, config.name, sms, now)
    log.info(
        "MO %s from %s via %s: %s",
        intake.message_id,
        mask_phone(sms.sender),
        config.name,
        "duplicate" if intake.duplicate else "accepted",
    )
    return kind.answer_mo(hook, intake.message_id, intake.duplicate)


def _store_dlr(config: CarrierSettings, kind: Webhooks, hook: WebhookRequest) -> Answer:
    now = runtime().clock.now()
    kind.verify(hook, config, now, runtime().settings.signature_tolerance)
    report = kind.parse_dlr(hook)
    changed = False
    if report is not None:  # None: a report on the way (queued, at the SMSC), nothing to keep
        session = db_session()
        changed = record_delivery(session, config.name, report, now)
        session.commit()
    return kind.answer_dlr(hook, report, changed)


def _incoming(carrier: str) -> tuple[CarrierSettings, Webhooks, WebhookRequest]:
    config = runtime().settings.carriers.get(carrier)
    if config is None:
        raise UnknownCarrier(f"no carrier named {carrier!r} is configured")
    kind = kind_of(config).webhooks
    if kind is None:  # its carrier reaches us over a connection of its own (SMPP), not HTTP
        raise UnknownCarrier(f"carrier {carrier!r} does not call webhooks")
    if request.method not in kind.methods:
        raise MethodNotAllowed(sorted(kind.methods))
    headers = dict(request.headers.items())
    try:
        # Over GATEWAY_MAX_BODY_BYTES: refused before it is read. Broken framing (a bad chunk,
        # a body short of its Content-Length): InvalidPayload, from gateway.web.WholeBody.
        body = request.get_data()
    except (RequestEntityTooLarge, InvalidPayload) as exc:
        error = (
            exc
            if isinstance(exc, InvalidPayload)
            else PayloadTooLarge(f"body over {runtime().settings.max_body_bytes} bytes")
        )
        note_refusal(error.code)
        log.info("request for %s refused: %s (%s)", config.name, error.code, error.reason)
        # Answered in the shape of the request as far as it was read: its headers, no body.
        hook = WebhookRequest(
            request.method, request.query_string, headers, b"", request.remote_addr
        )
        raise _Answered(kind.answer_refused(hook, error)) from None
    hook = WebhookRequest(
        method=request.method,
        query=request.query_string,
        headers=headers,
        body=body,
        # The direct peer: behind a reverse proxy, configure ProxyFix (docs/carriers.md).
        remote_addr=request.remote_addr,
    )
    return config, kind, hook


class _Answered(Exception):
    """Stops a request early with an answer already in the kind's shape."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


@bp.errorhandler(_Answered)
def _answered(exc: _Answered) -> ResponseReturnValue:
    return _respond(exc.answer)


def _respond(answer: Answer) -> Response:
    return Response(answer.body, status=answer.status, content_type=answer.content_type)
