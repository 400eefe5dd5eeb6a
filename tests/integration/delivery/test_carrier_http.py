"""The HTTP session a carrier's replies leave through honours the operator's environment.

requests would read HTTPS_PROXY/HTTP_PROXY, NO_PROXY and ~/.netrc at every send; the gateway
reads the proxies once per carrier instead. A gateway behind an egress proxy must still send
through it, and a carrier named in NO_PROXY must still be reached directly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gateway.carriers.registry import http_session
from gateway.settings import CarrierSettings


class Recorder(ThreadingHTTPServer):
    """Answers every POST with 200 and remembers the request line's target."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.targets.append(self.path)
                answer = json.dumps({"message_id": "m-1"}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def proxy() -> Iterator[Recorder]:
    yield from _serving()


@pytest.fixture
def carrier_host() -> Iterator[Recorder]:
    yield from _serving()


def _serving() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def carrier(mt_url: str) -> CarrierSettings:
    return CarrierSettings(name="viettel", secret="s" * 24, mt_url=mt_url, kind="json", timeout=5)


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_replies_go_through_the_proxy_the_environment_names(
    proxy: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    http = http_session(carrier("http://mt.carrier.example/mt"))

    answer = http.post("http://mt.carrier.example/mt", json={"to": "84912345678"}, timeout=5)

    assert answer.status_code == 200
    assert proxy.targets == ["http://mt.carrier.example/mt"]  # a proxy request: the whole URL


def test_a_carrier_named_in_no_proxy_is_reached_directly(
    proxy: Recorder, carrier_host: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    http = http_session(carrier(f"{carrier_host.url}/mt"))

    answer = http.post(f"{carrier_host.url}/mt", json={"to": "84912345678"}, timeout=5)

    assert answer.status_code == 200
    assert carrier_host.targets == ["/mt"]
    assert proxy.targets == []


def test_without_a_proxy_replies_go_straight_to_the_carrier(carrier_host: Recorder) -> None:
    http = http_session(carrier(f"{carrier_host.url}/mt"))

    assert http.post(f"{carrier_host.url}/mt", json={}, timeout=5).status_code == 200
    assert carrier_host.targets == ["/mt"]
