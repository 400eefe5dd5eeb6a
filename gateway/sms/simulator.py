"""A carrier in a box: post a message to a running gateway as the carrier would, catch the reply.

The simulator speaks the carrier's kind (gateway/delivery/carriers/emulators.py): signed JSON,
Kannel's post-url, Jasmin's MO connector or the Vietnamese MO form. It listens where the gateway
sends that carrier's replies (its MT URL) and answers as that carrier's MT interface does, so a
newcomer sees the whole round trip without a real carrier.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import requests

from gateway.delivery.carriers.emulators import mo_accepted, mo_request, mt_answer
from gateway.delivery.carriers.wire import WebhookRequest
from gateway.settings import CarrierSettings
from parsers import InvalidPhoneNumber, normalise_phone


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply the gateway handed to the simulated carrier."""

    recipient: str
    text: str
    in_reply_to: str | None


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
                if result.recipient is not None:
                    receiver.replies.put(
                        Reply(result.recipient, result.text or "", result.in_reply_to)
                    )
                self.send_response(result.status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(result.body)))
                self.end_headers()
                self.wfile.write(result.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the CLI prints what matters; the request line holds a password

        self._server = ThreadingHTTPServer(
            (parts.hostname or "127.0.0.1", parts.port or 80), Handler
        )
        self._server.daemon_threads = True
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


def wait_for_reply(
    receiver: MtReceiver, in_reply_to: str, timeout: float, sender: str | None = None
) -> Reply | None:
    """Return the first reply to ``in_reply_to`` (or, for kinds whose MT names no MO, to
    ``sender``'s phone) that arrives within ``timeout`` seconds."""
    phone = _normalised(sender)
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=timeout)
    while (left := (deadline - dt.datetime.now(dt.UTC)).total_seconds()) > 0:
        try:
            reply = receiver.replies.get(timeout=left)
        except queue.Empty:
            return None
        if reply.in_reply_to == in_reply_to:
            return reply
        if (
            reply.in_reply_to is None
            and phone is not None
            and _normalised(reply.recipient) == phone
        ):
            return reply
    return None


def _normalised(phone: str | None) -> str | None:
    if phone is None:
        return None
    try:
        return normalise_phone(phone)
    except InvalidPhoneNumber:
        return phone
