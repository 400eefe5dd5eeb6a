"""Requests recorded from carrier gateways, and a reader that turns one into a WebhookRequest.

A ``.http`` file is the request as it came over the wire: the request line, the headers, one
empty line, then the body byte for byte (no trailing newline is added). The Kannel ones were
recorded from Debian's Kannel 1.4.5 with its fakesmsc, the Jasmin ones from Jasmin 0.11.0 with
the SMSC simulator of its source package (its MO connector by POST and GET, level-1 and level-2
DLRs); only the path and token were changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from gateway.carriers.wire import WebhookRequest

HERE = Path(__file__).parent


def recorded(name: str, *, remote_addr: str = "127.0.0.1") -> WebhookRequest:
    """Read ``tests/payloads/<name>`` into the request an adapter parses."""
    head, _, body = (HERE / name).read_bytes().partition(b"\n\n")
    request_line, *header_lines = head.decode("latin-1").split("\n")
    method, target, _version = request_line.split(" ")
    _path, _, query = target.partition("?")
    headers = dict(line.split(": ", 1) for line in header_lines if line)
    return WebhookRequest(method, query.encode("latin-1"), headers, body, remote_addr)


def path_and_query(name: str) -> str:
    """Return the recorded request's target (path and query), to replay it."""
    return (HERE / name).read_bytes().split(b"\n", 1)[0].decode("latin-1").split(" ")[1]


def replay(client: FlaskClient, name: str, **changes: Any) -> Any:
    """Send a recorded request to the app as the carrier sent it; ``changes`` override parts."""
    request = recorded(name)
    return client.open(
        changes.pop("target", path_and_query(name)),
        method=request.method,
        data=changes.pop("body", request.body),
        headers={
            **{k: v for k, v in request.headers.items() if k not in ("Host", "Content-Length")},
            **changes.pop("headers", {}),
        },
        environ_base={"REMOTE_ADDR": changes.pop("remote_addr", "127.0.0.1")},
    )
