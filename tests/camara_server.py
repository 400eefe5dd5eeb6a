"""A fake carrier SIM Swap API (CAMARA ``/check``) with its OAuth2 token endpoint, on loopback.

It issues client-credentials tokens, answers ``{"swapped": true|false}`` per phone, keeps what it
was asked, and fails on demand: a status with a CAMARA ErrorInfo body, a slow answer, malformed
JSON, or 401 for tokens it has revoked.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CLIENT_ID = "gateway-8079"
CLIENT_SECRET = "s3cret+with/odd=chars"
TOKEN_PATH = "/oauth2/token"
API_PATH = "/sim-swap/v2"

ERRORS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "IDENTIFIER_NOT_FOUND",
    422: "SERVICE_NOT_APPLICABLE",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass
class Behaviour:
    """What the server does next; tests change it between calls."""

    swapped: set[str] = field(default_factory=set)  # E.164 numbers whose SIM changed
    expires_in: int | None = 3600
    check_status: int = 200  # anything else: that status with an ErrorInfo body
    token_status: int = 200
    check_body: bytes | None = None  # a raw body instead of the answer (malformed JSON, ...)
    delay: float = 0.0  # seconds before /check answers


class FakeCamara(ThreadingHTTPServer):
    """The server; ``url`` and ``token_url`` are what CARRIER_<NAME>_SIM_SWAP_* name."""

    daemon_threads = True
    request_queue_size = 128  # a batch connects 8 at once; the default 5 drops SYNs (1 s retries)

    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.checks: list[dict[str, Any]] = []  # the /check bodies received
        self.check_headers: list[dict[str, str]] = []
        self.token_forms: list[dict[str, str]] = []
        self.issued: list[str] = []
        self._valid: set[str] = set()
        self._lock = threading.Lock()
        self.released = threading.Event()  # ends every pending delay at shutdown
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{API_PATH}"

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{TOKEN_PATH}"

    def revoke_tokens(self) -> None:
        """Make every issued token answer 401, as an expired one does."""
        with self._lock:
            self._valid.clear()

    def issue(self) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            self.issued.append(token)
            self._valid.add(token)
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            return token in self._valid


class _Handler(BaseHTTPRequestHandler):
    server: FakeCamara
    protocol_version = "HTTP/1.1"  # kept-alive connections, as a real API gateway keeps them

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == TOKEN_PATH:
            self._token(body)
        elif self.path == f"{API_PATH}/check":
            self._check(body)
        else:
            self._error(404, "NOT_FOUND")

    def _token(self, body: bytes) -> None:
        server = self.server
        server.token_forms.append(dict(urllib.parse.parse_qsl(body.decode())))
        if server.behaviour.token_status != 200:
            self._json(server.behaviour.token_status, {"error": "temporarily_unavailable"})
            return
        if self.headers.get("Authorization") != _basic(CLIENT_ID, CLIENT_SECRET):
            self._json(401, {"error": "invalid_client"})
            return
        answer: dict[str, Any] = {"access_token": server.issue(), "token_type": "Bearer"}
        if server.behaviour.expires_in is not None:
            answer["expires_in"] = server.behaviour.expires_in
        self._json(200, answer)

    def _check(self, body: bytes) -> None:
        server, behaviour = self.server, self.server.behaviour
        server.checks.append(json.loads(body))
        server.check_headers.append(dict(self.headers.items()))
        if behaviour.delay:
            server.released.wait(behaviour.delay)
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if not server.valid(token):
            self._error(401, "UNAUTHENTICATED")
        elif behaviour.check_status != 200:
            self._error(behaviour.check_status, ERRORS.get(behaviour.check_status, "INTERNAL"))
        elif behaviour.check_body is not None:
            self._send(200, behaviour.check_body)
        else:
            phone = json.loads(body).get("phoneNumber")
            self._json(200, {"swapped": phone in behaviour.swapped})

    def _error(self, status: int, code: str) -> None:
        self._json(status, {"status": status, "code": code, "message": "fake carrier says no"})

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode())

    def _send(self, status: int, data: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting: what a timeout test wants

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _basic(user: str, password: str) -> str:
    # RFC 6749 2.3.1: form-encode, then Basic.
    pair = f"{urllib.parse.quote_plus(user)}:{urllib.parse.quote_plus(password)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


@contextmanager
def serving() -> Iterator[FakeCamara]:
    """Run a FakeCamara in a thread for the ``with`` block."""
    server = FakeCamara()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.released.set()
        server.shutdown()
        server.server_close()
