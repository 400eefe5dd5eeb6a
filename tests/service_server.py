"""The demo's stand-in service (gateway/services/stub.py) served on loopback for the tests,
with failures on demand: a status, a slow answer, junk, before it answers as the stub does.

It verifies every request with the ``standardwebhooks`` package, as the contract asks of the
agency's services, so a test that passes here proves the gateway's signature verifies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server

from gateway.services.stub import StubService, read_answers
from gateway.settings import ServiceSettings

ANSWERS = {
    ("qt", "0123456789"): "Ma so BHXH 0123456789: da dong BHXH 96 thang, den het 11/2026.",
    ("the", "0123456789"): "The BHYT 0123456789 con gia tri den 31/12/2026.",
    ("the", "0987654321"): "Thẻ BHYT 0987654321 còn giá trị đến 31/12/2026.",  # UCS-2
}


@dataclass
class Scripted:
    """The stub, with what to do instead of answering for the next requests, in order:
    an int status (500, 503), ``"slow:<seconds>"`` (then answer), or ``"junk"`` (200, not the
    contract)."""

    stub: StubService
    script: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: list[str] = field(default_factory=list)  # every webhook-id that reached us

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self.lock:
            self.attempts.append(environ.get("HTTP_WEBHOOK_ID", ""))
            step = self.script.pop(0) if self.script else None
        if isinstance(step, int):
            start_response(f"{step} Scripted", [("Content-Type", "application/json")])
            return [b'{"error": "scripted"}']
        if step == "junk":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"reply": "\\u0007ring", "outcome": "answered"}']
        if isinstance(step, str) and step.startswith("slow:"):
            time.sleep(float(step.removeprefix("slow:")))
        return self.stub(environ, start_response)


@contextmanager
def serving(services: list[ServiceSettings]) -> Iterator[tuple[str, Scripted]]:
    """Serve the stand-in for ``services`` (their secrets: the service side's); yield its base
    URL and the scripted app."""
    app = Scripted(StubService(services, ANSWERS))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join()


__all__ = ["ANSWERS", "Scripted", "read_answers", "serving"]
