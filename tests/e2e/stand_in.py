"""The carrier's MT endpoint for the end-to-end tests: records, checks and accepts each reply.

It listens on 127.0.0.1 at a free port until its block ends (:func:`serving_carrier`).
"""

from __future__ import annotations

import contextlib
import hmac
import itertools
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from requests.structures import CaseInsensitiveDict

from gateway.carriers.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from tests.e2e.support import CARRIER, REPLY_DEADLINE, STOP_GRACE, Gateway


@dataclass(frozen=True)
class MtRequest:
    """One reply the gateway handed to the carrier stand-in."""

    headers: Mapping[str, str]  # case-insensitive, as HTTP header names are
    body: bytes
    payload: dict[str, Any]
    signature_ok: bool
    message_id: str


@dataclass
class CarrierStandIn:
    """Records every MT request, checks its signature and accepts it with a message id."""

    secret: str
    url: str = ""
    received: list[MtRequest] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def record(self, headers: Mapping[str, str], body: bytes) -> MtRequest:
        """Verify and store one request; return what was stored."""
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        expected = signature(self.secret, timestamp, body)
        signature_ok = bool(timestamp) and hmac.compare_digest(
            expected, headers.get(SIGNATURE_HEADER, "")
        )
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
        with self._changed:
            request = MtRequest(headers, body, payload, signature_ok, f"vt-mt-{next(self._ids)}")
            self.received.append(request)
            self._changed.notify_all()
        return request

    def replies_to(self, carrier_message_id: str) -> list[MtRequest]:
        """Return the replies received so far to one MO."""
        with self._changed:
            return [r for r in self.received if r.payload.get("in_reply_to") == carrier_message_id]

    def wait_for_reply(self, carrier_message_id: str, gateway: Gateway) -> MtRequest:
        """Wait until the reply to one MO arrives; fail with the gateway's output if it does not."""
        with self._changed:
            arrived = self._changed.wait_for(
                lambda: any(
                    r.payload.get("in_reply_to") == carrier_message_id for r in self.received
                ),
                timeout=REPLY_DEADLINE,
            )
        if not arrived:
            pytest.fail(
                f"no reply to {carrier_message_id!r} within {REPLY_DEADLINE} s\n{gateway.output()}"
            )
        return self.replies_to(carrier_message_id)[0]


def handler_for(carrier: CarrierStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if len(body) < length:
                # The sender died mid-request (a test kills workers): a carrier's HTTP server
                # never sees a truncated request as a message, so neither does the stand-in.
                self.close_connection = True
                return
            request = carrier.record(CaseInsensitiveDict(self.headers.items()), body)
            status = 200 if request.signature_ok else 401
            answer = json.dumps({"message_id": request.message_id}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the gateway's own logs are what a failure report shows

    return Handler


@contextlib.contextmanager
def serving_carrier(secret: str, path: str = f"/{CARRIER}/mt") -> Iterator[CarrierStandIn]:
    """Run a carrier stand-in on a free port until the block ends."""
    stand_in = CarrierStandIn(secret)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(stand_in))
    server.daemon_threads = True
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, name="carrier-stand-in", daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=STOP_GRACE)
