"""Carrier-facing endpoints: inbound messages (MO) and delivery reports (DLR).

Every request follows one order: verify the caller, parse, skip a repeat, record, answer.
Nothing is stored for a refused request, and the answer never waits for password hashing
or any outbound call: those belong to the worker.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from gateway import signing
from gateway.carriers import json_api
from gateway.errors import UnknownCarrier, UnsupportedMediaType, WrongShortcode
from gateway.inbox import accept_inbound
from gateway.outbox import record_delivery
from gateway.settings import CarrierSettings
from gateway.web import db_session, runtime

bp = Blueprint("carriers", __name__, url_prefix="/carriers")


@bp.post("/<carrier>/mo")
def receive_mo(carrier: str) -> ResponseReturnValue:
    """Store one inbound SMS and acknowledge it (or its repeat)."""
    config = _verified(carrier)
    sms = json_api.parse_inbound(request.get_data())
    settings = runtime().settings
    if sms.recipient.lstrip("+") != settings.shortcode:
        raise WrongShortcode(f"to must be {settings.shortcode}")
    intake = accept_inbound(db_session(), config.name, sms, runtime().clock.now())
    status = "duplicate" if intake.duplicate else "accepted"
    return jsonify(status=status, message_id=intake.message_id), 200


@bp.post("/<carrier>/dlr")
def receive_dlr(carrier: str) -> ResponseReturnValue:
    """Record a delivery report for one of our replies."""
    config = _verified(carrier)
    report = json_api.parse_dlr(request.get_data())
    session = db_session()
    changed = record_delivery(session, config.name, report, runtime().clock.now())
    session.commit()
    return jsonify(status="recorded" if changed else "duplicate", reference=report.reference), 200


def _verified(carrier: str) -> CarrierSettings:
    settings = runtime().settings
    config = settings.carriers.get(carrier)
    if config is None:
        raise UnknownCarrier(f"no carrier named {carrier!r} is configured")
    body = request.get_data()  # over GATEWAY_MAX_BODY_BYTES: 413 before anything is read
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json")
    signing.verify(
        config.secret,
        request.headers.get(signing.TIMESTAMP_HEADER),
        request.headers.get(signing.SIGNATURE_HEADER),
        body,
        now=runtime().clock.now(),
        tolerance=settings.signature_tolerance,
    )
    return config
