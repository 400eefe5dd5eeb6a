"""A pass-through between Jasmin's MO connector and the gateway that can lose one ACK.

tests/e2e/test_jasmin.py points Jasmin's HTTP connector here: every request goes on to the
gateway unchanged and is recorded as Jasmin sent it; for one phone the first answer is replaced
by a 503, as if the gateway's ``ACK/Jasmin`` were lost on the way, so Jasmin posts it again.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests


@dataclass
class PassThrough:
    """Forwards every MO to the gateway; answers the first one from ``loses_first_ack`` 503."""

    gateway_url: str
    loses_first_ack: str
    seen: list[tuple[str, dict[str, list[bytes]], int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def forward(
        self, method: str, target: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """Send one request on to the gateway; return what Jasmin should get back."""
        answer = requests.request(
            method, self.gateway_url + target, data=body, headers=headers, timeout=10
        )
        query = urlsplit(target).query.encode("latin-1")
        params = _params(body if method == "POST" else query)
        with self._lock:
            first = not any(p.get("id") == params.get("id") for _, p, _ in self.seen)
            self.seen.append((method, params, answer.status_code))
        if first and params.get("from") == [self.loses_first_ack.encode()]:
            return 503, b"the ACK was lost on the way"
        return answer.status_code, answer.content

    def attempts(self, phone: str) -> list[tuple[str, dict[str, list[bytes]], int]]:
        """Return every forwarded MO from ``phone`` as Jasmin sent it."""
        with self._lock:
            return [s for s in self.seen if s[1].get("from") == [phone.encode()]]


def _params(encoded: bytes) -> dict[str, list[bytes]]:
    decoded = parse_qs(encoded.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    return {name: [v.encode("latin-1") for v in values] for name, values in decoded.items()}


@contextlib.contextmanager
def serving(pass_through: PassThrough) -> Iterator[str]:
    """Run the pass-through on a free port until the block ends; yield its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type",)}
            status, answer = pass_through.forward(self.command, self.path, body, headers)
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = _relay

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="jasmin-pass-through")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
