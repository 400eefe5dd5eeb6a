"""A carrier in a box: post a message to a running gateway as the carrier would, catch the reply.

The simulator speaks the carrier's kind (gateway/carriers/, each kind's emulator): signed JSON,
Kannel's post-url, Jasmin's MO connector or the Vietnamese MO form. It listens where the gateway
sends that carrier's replies (its MT URL) and answers as that carrier's MT interface does, so a
newcomer sees the whole round trip without a real carrier.

Which SMS answers *this* message is read from the gateway's own database (the simulator runs
with the gateway's settings): the message's recorded outcome says whether a reply was queued,
and the outbox names it. No endpoint tells an anonymous caller what was decided.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from billing.outcomes import Outcome
from gateway.carriers.emulators import mo_accepted, mo_request, mt_answer
from gateway.carriers.wire import WebhookRequest
from gateway.models import InboundMessage, OutboxMessage
from gateway.settings import CarrierSettings
from gateway.states import MessageStatus
from parsers import InvalidPhoneNumber, normalise_phone

POLL_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class Reply:
    """An SMS the gateway handed to the simulated carrier."""

    recipient: str
    text: str
    in_reply_to: str | None
    reference: str | None = None  # our outbox id, where the carrier's MT carries it


@dataclass(frozen=True, slots=True)
class Decision:
    """What the worker decided for one message: its outcome and the outbox rows answering it."""

    outcome: str
    replied: bool
    references: frozenset[str]


@dataclass(frozen=True, slots=True)
class Event:
    """One thing to print: the ``reply`` to this message, a ``notice`` to the same phone, or
    ``silence`` (the gateway decided not to answer; ``decision`` says why)."""

    kind: str
    reply: Reply | None = None
    decision: Decision | None = None


class MtReceiver:
    """An HTTP server at the carrier's MT URL that answers as its kind does and queues replies."""

    def __init__(self, carrier: CarrierSettings) -> None:
        parts = urlsplit(carrier.mt_url)
        self.replies: queue.Queue[Reply] = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = WebhookRequest(
                    self.command,
                    urlsplit(self.path).query.encode("latin-1"),
                    dict(self.headers.items()),
                    body,
                    self.client_address[0],
                )
                result = mt_answer(carrier, request)
                self.send_response(result.status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(result.body)))
                self.end_headers()
                self.wfile.write(result.body)
                self.wfile.flush()
                # Answer first, then hand over: the CLI may exit as soon as it has the reply,
                # and the gateway must have read a whole answer by then, or it records a
                # failed send (and a refundable charge) for a reply that was printed.
                if result.recipient is not None:
                    receiver.replies.put(
                        Reply(
                            result.recipient,
                            result.text or "",
                            result.in_reply_to,
                            result.reference,
                        )
                    )

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the CLI prints what matters; the request line holds a password

        self._server = ThreadingHTTPServer(
            (parts.hostname or "127.0.0.1", parts.port or 80), Handler
        )
        # Closing waits for answers being written, so no send in flight is cut off.
        self._server.daemon_threads = False
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> MtReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def send_mo(
    gateway_url: str, carrier: CarrierSettings, sender: str, recipient: str, text: str
) -> tuple[str, requests.Response, bool]:
    """Post one MO as the carrier would; return its id, the answer and whether it was stored."""
    mo = mo_request(gateway_url, carrier, sender, recipient, text)
    answer = requests.request(mo.method, mo.url, data=mo.body, headers=mo.headers, timeout=10)
    return mo.message_id, answer, mo_accepted(carrier, answer.status_code, answer.content)


def decision_of(engine: Engine, carrier: str, carrier_message_id: str) -> Decision | None:
    """Read what the worker decided for one message; None while it waits for the worker."""
    # Statement at a time: polling must never hold SQLite's write lock (gateway/db.py).
    bind = (
        engine.execution_options(sqlite_begin=None) if engine.dialect.name == "sqlite" else engine
    )
    with Session(bind) as session:
        message = session.scalars(
            select(InboundMessage).where(
                InboundMessage.carrier == carrier,
                InboundMessage.carrier_message_id == carrier_message_id,
            )
        ).one_or_none()
        if message is None or message.status is not MessageStatus.PROCESSED:
            return None
        if message.outcome is Outcome.FORWARDED:  # its service's answer is yet to come
            return None
        references = session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.message_id == message.id)
        )
        return Decision(
            outcome=message.outcome.value if message.outcome else "unknown",
            replied=message.replied,
            references=frozenset(str(reference) for reference in references),
        )


def watch(
    receiver: MtReceiver,
    message_id: str,
    sender: str,
    timeout: float,
    decide: Callable[[], Decision | None],
) -> Iterator[Event]:
    """Yield the notices to ``sender``'s phone as they come, then the reply to ``message_id``
    or, as soon as the gateway has decided not to answer, ``silence``; nothing more after
    ``timeout`` seconds."""
    phone = _normalised(sender)
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=timeout)
    decision: Decision | None = None
    while (left := (deadline - dt.datetime.now(dt.UTC)).total_seconds()) > 0:
        try:
            reply = receiver.replies.get(timeout=min(left, POLL_SECONDS))
        except queue.Empty:
            reply = None
        if decision is None:
            decision = decide()
        if reply is not None:
            if _answers(reply, message_id, decision):
                yield Event("reply", reply)
                return
            if _normalised(reply.recipient) == phone:
                yield Event("notice", reply)
            continue
        if decision is not None and not decision.replied:
            yield Event("silence", decision=decision)
            return


def _answers(reply: Reply, message_id: str, decision: Decision | None) -> bool:
    if reply.in_reply_to is not None:
        return reply.in_reply_to == message_id
    if decision is None:
        return False  # unknown yet: the carrier's MT named no message, wait for the outcome
    return reply.reference in decision.references


def _normalised(phone: str | None) -> str | None:
    if phone is None:
        return None
    try:
        return normalise_phone(phone)
    except InvalidPhoneNumber:
        return phone
