"""A carrier in a box: post a signed message to a running gateway and catch its reply.

The simulator listens where the gateway sends that carrier's replies (its MT URL), so a
newcomer sees the whole round trip without a real carrier. It speaks our JSON contract.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import requests

from gateway import signing
from gateway.errors import BadSignature
from gateway.settings import CarrierSettings


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply the gateway handed to the simulated carrier."""

    recipient: str
    text: str
    in_reply_to: str | None


class MtReceiver:
    """An HTTP server at the carrier's MT URL that checks signatures and queues replies."""

    def __init__(self, carrier: CarrierSettings) -> None:
        parts = urlsplit(carrier.mt_url)
        self.replies: queue.Queue[Reply] = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    signing.verify(
                        carrier.secret,
                        self.headers.get(signing.TIMESTAMP_HEADER),
                        self.headers.get(signing.SIGNATURE_HEADER),
                        body,
                        now=dt.datetime.now(dt.UTC),
                        tolerance=dt.timedelta(seconds=300),
                    )
                    data = json.loads(body)
                except (BadSignature, ValueError):
                    self._answer(401, {"error": "bad_signature"})
                    return
                receiver.replies.put(Reply(data["to"], data["text"], data.get("in_reply_to")))
                self._answer(200, {"message_id": f"sim-mt-{uuid.uuid4().hex[:12]}"})

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the CLI prints what matters

        self._server = ThreadingHTTPServer(
            (parts.hostname or "127.0.0.1", parts.port or 80), Handler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> MtReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def send_mo(
    gateway_url: str, carrier: CarrierSettings, sender: str, recipient: str, text: str
) -> tuple[str, requests.Response]:
    """Post one signed inbound message; return its carrier id and the gateway's answer."""
    message_id = f"sim-{uuid.uuid4().hex[:16]}"
    body = json.dumps(
        {"id": message_id, "from": sender, "to": recipient, "text": text}, ensure_ascii=False
    ).encode()
    headers = {
        "Content-Type": "application/json",
        **signing.signed_headers(carrier.secret, body, dt.datetime.now(dt.UTC)),
    }
    url = f"{gateway_url.rstrip('/')}/carriers/{carrier.name}/mo"
    return message_id, requests.post(url, data=body, headers=headers, timeout=10)


def wait_for_reply(receiver: MtReceiver, in_reply_to: str, timeout: float) -> Reply | None:
    """Return the first reply to ``in_reply_to`` that arrives within ``timeout`` seconds."""
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=timeout)
    while (left := (deadline - dt.datetime.now(dt.UTC)).total_seconds()) > 0:
        try:
            reply = receiver.replies.get(timeout=left)
        except queue.Empty:
            return None
        if reply.in_reply_to == in_reply_to:
            return reply
    return None
