"""``gateway simulate`` finds the gateway where this folder's settings serve it."""

from __future__ import annotations

import dataclasses
import socket

import pytest

from gateway.cli.simulate import gateway_url
from gateway.settings import Settings
from tests.integration.finance.test_finance_cli import Run


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


GATEWAY_PORT, MT_PORT = free_port(), free_port()


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    # The port moved, as the port-in-use error advises; nothing is serving there.
    environ["GATEWAY_BIND"] = f"127.0.0.1:{GATEWAY_PORT}"
    environ["CARRIER_VIETTEL_MT_URL"] = f"http://127.0.0.1:{MT_PORT}/viettel/mt"
    return environ


def test_simulate_uses_the_bind_and_says_what_to_do_when_nothing_answers(run: Run) -> None:
    code, _, said = run("simulate", "--carrier", "viettel", "--from", "0912345678", "BH MK 1")

    assert code == 1
    lines = said.strip().splitlines()
    assert len(lines) == 1, said
    assert f"nothing answers at http://127.0.0.1:{GATEWAY_PORT}" in lines[0]
    assert "`make run`" in lines[0] and "--url" in lines[0]


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("0.0.0.0:8002", "http://127.0.0.1:8002"),
        (":8003", "http://127.0.0.1:8003"),
        ("[::1]:8004", "http://[::1]:8004"),
        ("unix:/run/gateway.sock", "https://gateway.example.vn"),
    ],
)
def test_the_gateway_url_follows_the_bind(settings: Settings, bind: str, url: str) -> None:
    moved = dataclasses.replace(settings, bind=bind, public_url="https://gateway.example.vn")

    assert gateway_url(moved) == url
