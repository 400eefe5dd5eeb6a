"""Broken HTTP framing over a real socket: a body that cannot be read whole is a 400, not a 500.

Flask's test client hands the app a body it already holds, so it never sends what a broken or
hostile client can: a chunk size that is not hexadecimal, a chunked body cut off, a body
shorter or longer than its Content-Length, bytes after the headers. Here they go over TCP to
two real servers, each with a carrier of every kind: gunicorn as ``gateway serve`` runs it
(gunicorn.conf.py), and werkzeug's own, whose body readers fail differently. A body that cannot
be read whole is answered 400 in the caller's own shape (the JSON API's, each carrier kind's,
the pages') and stores nothing; no framing at all may get a 5xx or log a traceback. The table
runs in CI; ``make fuzz`` also draws FUZZ_EXAMPLES / 10 framings per server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.serving import make_server

from gateway.clock import FakeClock
from gateway.settings import load_settings
from tests.conftest import make_app
from tests.e2e.support import Gateway, command, free_port, wait_healthy
from tests.fuzz.conftest import TOKENS, fuzz_environ
from tests.fuzz.test_hostile_input import row_counts

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = max(20, int(os.environ.get("FUZZ_EXAMPLES", "1500")) // 10)
TIMEOUT = 10.0  # seconds for one exchange; every request ends with the client's half-close
STATUS_LINE = re.compile(rb"(?:^|\r\n)HTTP/1\.[01] (\d{3}) ")
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Answer:
    """The first response on the connection, and the status of every one."""

    status: int
    content_type: str
    body: bytes
    statuses: list[int]


@dataclass(frozen=True)
class Target:
    """A route as its callers use it, and what its refusal of an unreadable body looks like."""

    name: str
    path: str
    content_type: str
    body: bytes
    refusal: Callable[[Answer], bool]


def json_refusal(answer: Answer) -> bool:
    return answer.status == 400 and json.loads(answer.body)["error"] == "invalid_payload"


def page_refusal(answer: Answer) -> bool:
    return answer.status == 400 and answer.content_type.startswith("text/html")


SOAP_MO = (
    b'<?xml version="1.0" encoding="utf-8"?><soapenv:Envelope xmlns:soapenv='
    b'"http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><mo:messageReceiver xmlns:mo='
    b'"http://moreceiver.cp.vn/"><user_id>0912345678</user_id><service_id>8079</service_id>'
    b"<message>BH MK 0123456789</message><request_id>t-1</request_id></mo:messageReceiver>"
    b"</soapenv:Body></soapenv:Envelope>"
)
MO = {"id": "t-1", "from": "84912345678", "to": "8079", "text": "BH MK 0123456789"}
TARGETS = [
    Target(
        "api",
        "/api/v1/auth/login",
        "application/json",
        json.dumps({"bhxh": "0123456789", "password": "not the password"}).encode(),
        json_refusal,
    ),
    Target("json-carrier", "/carriers/viettel/mo", "application/json", json.dumps(MO).encode(),
           json_refusal),
    Target(
        "kannel",
        f"/carriers/kannel/mo?token={TOKENS['kannel']}&from=84912345678&to=8079&id=t-1",
        "text/plain; charset=utf-8",
        b"BH MK 0123456789",
        lambda answer: (answer.status, answer.body) == (400, b"invalid_payload"),
    ),
    Target(
        "jasmin",
        f"/carriers/jasmin/mo?token={TOKENS['jasmin']}",
        FORM,
        urlencode({"id": "t-1", "from": "84912345678", "to": "8079", "content": "BH MK"}).encode(),
        lambda answer: answer.status == 400 and answer.body.startswith(b'Error "invalid_payload'),
    ),
    Target(
        "vnmo-form",
        f"/carriers/vnmo/mo?token={TOKENS['vnmo']}",
        FORM,
        b"User_ID=84912345678&Service_ID=8079&Message=BH+MK+0123456789&Request_ID=t-1",
        lambda answer: (answer.status, answer.body) == (200, b"-2"),  # -2: do not send again
    ),
    Target(
        "vnmo-soap",
        f"/carriers/vnmo/mo?token={TOKENS['vnmo']}",
        "text/xml; charset=utf-8",
        SOAP_MO,
        lambda answer: answer.status == 200 and b"<return>-2</return>" in answer.body,
    ),
    Target("portal", "/dang-nhap", FORM, b"bhxh=0123456789&password=x", page_refusal),
    Target("console", "/console/sign-in", FORM, b"email=a%40b.vn&password=x", page_refusal),
]  # fmt: skip


def head(target: Target, *headers: str) -> bytes:
    lines = [
        f"POST {target.path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Content-Type: {target.content_type}",
    ]
    return ("\r\n".join([*lines, *headers]) + "\r\n\r\n").encode()


CHUNKED = "Transfer-Encoding: chunked"

# Bodies that cannot be read whole: refused in the caller's shape, nothing stored.
UNREADABLE: dict[str, Callable[[Target], bytes]] = {
    "chunk-size-zz": lambda t: head(t, CHUNKED) + b"zz\r\n" + t.body + b"\r\n0\r\n\r\n",
    "chunk-size-negative": lambda t: head(t, CHUNKED) + b"-5\r\nBH MK\r\n0\r\n\r\n",
    "chunk-cut-short": lambda t: head(t, CHUNKED) + f"{len(t.body) + 9:x}\r\n".encode() + t.body,
    "no-last-chunk": lambda t: (
        head(t, CHUNKED) + f"{len(t.body):x}\r\n".encode() + t.body + b"\r\n"
    ),
    "shorter-than-content-length": lambda t: (
        head(t, f"Content-Length: {len(t.body) + 50}") + t.body
    ),
}
# Framings a server reads in its own way (the body it can read, then a second request or a
# refusal of its own): any answer but a 5xx.
ODD: dict[str, Callable[[Target], bytes]] = {
    "longer-than-content-length": lambda t: (
        head(t, f"Content-Length: {len(t.body)}") + t.body + b"\x00\xff garbage \r\n\r\n"
    ),
    "bytes-after-the-headers": lambda t: head(t) + b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    "content-length-and-chunked": lambda t: (
        head(t, "Content-Length: 4", CHUNKED)
        + f"{len(t.body):x}\r\n".encode()
        + t.body
        + b"\r\n0\r\n\r\n"
    ),
    "content-length-not-a-number": lambda t: head(t, "Content-Length: 1e3") + t.body,
    "content-length-twice": lambda t: head(t, "Content-Length: 3", "Content-Length: 5") + t.body,
}


# --- the servers ----------------------------------------------------------------------------


@dataclass
class Server:
    """A real server on loopback, the app's database, and its logs so far."""

    address: tuple[str, int]
    app: Flask  # the in-process app: its engine counts rows for either server
    errors: Callable[[], list[str]]  # tracebacks and errors logged since the last call


def exchange(server: Server, raw: bytes) -> Answer:
    """Send raw bytes, end the sending side, and read every answer until the server closes."""
    with socket.create_connection(server.address, timeout=TIMEOUT) as sock:
        with contextlib.suppress(ConnectionError):  # refused early, before all was sent
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)  # the server sees where the client's bytes end
        received = bytearray()
        with contextlib.suppress(ConnectionError):  # closed with bytes unread: a reset
            while data := sock.recv(65536):
                received += data
    return parse(bytes(received))


def parse(raw: bytes) -> Answer:
    statuses = [int(status) for status in STATUS_LINE.findall(raw)]
    header, _, rest = raw.partition(b"\r\n\r\n")
    fields = {}
    for line in header.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip().decode("latin-1")
    length = int(fields.get(b"content-length", "0"))
    status = statuses[0] if statuses else 0
    return Answer(status, fields.get(b"content-type", ""), rest[:length], statuses)


class LogRecords(logging.Handler):
    """The in-process server's log: what would be a traceback or an error of ours."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # werkzeug's own "code 400, message Bad request syntax" is its refusal, at ERROR level.
        refusal = record.name == "werkzeug" and message.startswith("code 4")
        if record.exc_info or (record.levelno >= logging.ERROR and not refusal):
            self.lines.append(f"{record.name}: {message}")

    def take(self) -> list[str]:
        """Return what was logged since the last call."""
        taken, self.lines = self.lines, []
        return taken


@contextlib.contextmanager
def werkzeug_server(app: Flask) -> Iterator[Server]:
    records = LogRecords()
    logging.getLogger().addHandler(records)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="werkzeug", daemon=True)
    thread.start()
    try:
        yield Server(("127.0.0.1", httpd.server_port), app, records.take)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
        logging.getLogger().removeHandler(records)


@contextlib.contextmanager
def gunicorn_server(app: Flask, env: dict[str, str], workdir: Path) -> Iterator[Server]:
    port = free_port()
    env = {
        **{name: os.environ[name] for name in ("PATH", "LANG", "TMPDIR") if name in os.environ},
        **env,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "XDG_RUNTIME_DIR": str(workdir),
        "GATEWAY_BIND": f"127.0.0.1:{port}",
        "GATEWAY_WEB_WORKERS": "1",
    }
    config = str(ROOT / "gunicorn.conf.py")
    argv = [sys.executable, "-m", "gunicorn", "-c", config, "gateway.app:create_app()"]
    with command("gunicorn", argv, env, workdir) as (process, log):
        wait_healthy(f"http://127.0.0.1:{port}", Gateway("", {"gunicorn": log}), process)
        seen = 0

        def errors() -> list[str]:
            nonlocal seen
            text = log.read_bytes()
            new, seen = text[seen:].decode(errors="replace"), len(text)
            return [line for line in new.splitlines() if "Traceback" in line or " ERROR " in line]

        yield Server(("127.0.0.1", port), app, errors)


@pytest.fixture(
    scope="module", params=[pytest.param("gunicorn", marks=pytest.mark.e2e), "werkzeug"]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp(f"transport-{request.param}")
    env = fuzz_environ(workdir)
    app = make_app(load_settings(env), FakeClock())  # builds the schema both servers use
    serving = (
        gunicorn_server(app, env, workdir) if request.param == "gunicorn" else werkzeug_server(app)
    )
    with serving as running:
        yield running
    app.extensions["gateway"].engine.dispose()


# --- the cases ------------------------------------------------------------------------------


@pytest.mark.parametrize("framing", sorted(UNREADABLE))
@pytest.mark.parametrize("target", TARGETS, ids=lambda target: target.name)
def test_an_unreadable_body_is_refused_in_the_callers_shape_and_stores_nothing(
    server: Server, target: Target, framing: str
) -> None:
    server.errors()
    before = row_counts(server.app)

    answer = exchange(server, UNREADABLE[framing](target))

    assert target.refusal(answer), answer
    assert all(status < 500 for status in answer.statuses), answer
    assert row_counts(server.app) == before
    assert server.errors() == []


@pytest.mark.parametrize("framing", sorted(ODD))
@pytest.mark.parametrize("target", TARGETS, ids=lambda target: target.name)
def test_odd_framing_gets_no_5xx(server: Server, target: Target, framing: str) -> None:
    server.errors()

    answer = exchange(server, ODD[framing](target))

    assert answer.statuses, "no answer at all"
    assert all(status < 500 for status in answer.statuses), answer
    assert server.errors() == []


# --- drawn framings (make fuzz) -------------------------------------------------------------

# Bytes that make a chunk size unreadable to both servers: not a hex digit, not what either
# strips or splits off around a size (blanks, ";" extensions), not what Python's int(), which
# werkzeug's reader uses, also accepts ("0x", "_", a sign).
NOT_HEX = bytes(
    b for b in range(256) if not (chr(b).isspace() or chr(b) in "0123456789abcdefABCDEF;xX_+-")
)
ODD_HEADERS = [
    "Content-Length: -1", "Content-Length: 0x10", "Content-Length: 99999999999999999999",
    "Content-Length: ٣", "Transfer-Encoding: gzip, chunked", "Transfer-Encoding: chunked, gzip",
    "Transfer-Encoding: identity", "Transfer-Encoding:  chunked", "Expect: 100-continue",
    "Content-Length: 5\r\n Folded: header", "X: \x00",
]  # fmt: skip


def chunked(body: bytes, sizes: list[int]) -> bytes:
    """Encode ``body`` in chunks of the given sizes, without the last (empty) chunk."""
    encoded, rest = bytearray(), body
    for size in sizes:
        piece, rest = rest[:size], rest[size:]
        if piece:
            encoded += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return bytes(encoded)


@st.composite
def framings(draw: st.DrawFn) -> tuple[Target, bytes, bool]:
    """Draw a route and a framing of its body; say whether the body is sure to be unreadable."""
    target = draw(st.sampled_from(TARGETS))
    body = target.body
    kind = draw(st.sampled_from(["bad-size", "cut", "short", "long", "after", "header"]))
    if kind == "bad-size":
        size = draw(st.binary(max_size=8).filter(lambda b: not set(b) & set(b"\r\n;")))
        at = draw(st.integers(0, len(size)))
        line = size[:at] + bytes([draw(st.sampled_from(NOT_HEX))]) + size[at:]
        return target, head(target, CHUNKED) + line + b"\r\n" + body + b"\r\n0\r\n\r\n", True
    if kind == "cut":  # anywhere before the last chunk: never complete
        encoded = chunked(body, draw(st.lists(st.integers(1, 16), min_size=1, max_size=6)))
        return target, head(target, CHUNKED) + encoded[: draw(st.integers(0, len(encoded)))], True
    if kind == "short":
        sent = body[: draw(st.integers(0, len(body)))]
        length = len(sent) + draw(st.integers(1, 10_000))
        return target, head(target, f"Content-Length: {length}") + sent, True
    if kind == "long":
        extra = draw(st.binary(min_size=1, max_size=60))
        return target, head(target, f"Content-Length: {len(body)}") + body + extra, False
    if kind == "after":
        return target, head(target) + draw(st.binary(min_size=1, max_size=60)), False
    return target, head(target, draw(st.sampled_from(ODD_HEADERS))) + body, False


def test_drawn_framings_get_no_5xx_and_a_broken_body_stores_nothing(server: Server) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(drawn=framings())
    def exchange_once(drawn: tuple[Target, bytes, bool]) -> None:
        target, raw, unreadable = drawn
        before = row_counts(server.app)

        answer = exchange(server, raw)

        assert all(status < 500 for status in answer.statuses), answer
        assert server.errors() == []
        if unreadable:
            assert target.refusal(answer), answer
            assert row_counts(server.app) == before

    server.errors()
    exchange_once()
