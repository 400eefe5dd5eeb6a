"""Per-client limits on the anonymous endpoints: one address cannot make us hash forever.

An attacker floods login from one address, rotates X-Forwarded-For to look like many, or
spreads over gunicorn workers; the limit holds in each case, answers 429 with Retry-After,
and is checked before the password is hashed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from limits import parse
from limits.storage import MemoryStorage
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.clock import FakeClock
from gateway.errors import RateLimited
from gateway.models import LoginFailure
from gateway.ops.ratelimits import LIMITED_ENDPOINTS, ClientLimits, client_key
from gateway.settings import load_settings
from tests.conftest import make_app
from tests.harness import add_account

LOGIN = "/api/v1/auth/login"
WRONG = {"bhxh": "0123456789", "password": "not the password"}
# Limits on, small: 3 a minute for login, 2 for recovery.
SMALL_LIMITS = {
    "GATEWAY_RATELIMIT_ENABLED": "true",
    "GATEWAY_RATELIMIT_LOGIN": "3/minute",
    "GATEWAY_RATELIMIT_RECOVERY": "2/minute",
    "GATEWAY_LOGIN_FREE_FAILURES": "1000",  # the per-identifier delay is not tested here
}


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    return {**environ, **SMALL_LIMITS}


def failed_logins(session: Session) -> int:
    return session.scalars(select(LoginFailure.consecutive)).one()


def test_the_fourth_login_from_one_address_is_429_before_any_hashing(
    client: FlaskClient, session: Session
) -> None:
    add_account(session)
    session.commit()

    answers = [client.post(LOGIN, json=WRONG) for _ in range(4)]

    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert answers[3].get_json()["error"] == "rate_limited"
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    # The refused attempt never reached the password check: it did not count as a failure.
    assert failed_logins(session) == 3


def test_every_limited_endpoint_shares_the_login_budget(client: FlaskClient) -> None:
    for path in ("/api/v1/auth/password", "/api/v1/account/email", LOGIN):
        client.post(path, json={})

    refused = client.post("/api/v1/recovery/email/verify", json={})

    assert refused.status_code == 429


def test_captchas_have_their_own_limit(client: FlaskClient) -> None:
    codes = [client.get("/api/v1/captcha").status_code for _ in range(3)]

    assert codes == [200, 200, 429]
    assert client.post(LOGIN, json=WRONG).status_code == 401  # the login budget is untouched


def test_the_webhook_and_health_are_never_limited(client: FlaskClient) -> None:
    assert {client.get("/healthz").status_code for _ in range(20)} == {200}


def test_a_forged_forwarded_for_does_not_make_a_new_client(client: FlaskClient) -> None:
    codes = [
        client.post(LOGIN, json=WRONG, headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
        for n in range(4)
    ]

    assert codes[-1] == 429  # no trusted proxy: the header is ignored


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(
    environ: dict[str, str], clock: FakeClock
) -> None:
    app = make_app(load_settings({**environ, "GATEWAY_PROXY_HOPS": "1"}), clock)
    client = app.test_client()

    def login_from(address: str) -> int:
        return client.post(LOGIN, json=WRONG, headers={"X-Forwarded-For": address}).status_code

    first = [login_from("198.51.100.1") for _ in range(4)]
    other = login_from("198.51.100.2")
    app.extensions["gateway"].engine.dispose()

    assert first[-1] == 429
    assert other == 401


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # same subscriber, another address
        ("::ffff:192.0.2.7", "192.0.2.7"),
        (None, "unknown"),
    ],
)
def test_clients_are_addresses_and_ipv6_slash_64s(address: str | None, key: str) -> None:
    assert client_key(address) == key


def test_two_workers_on_one_database_share_the_count(
    environ: dict[str, str], clock: FakeClock
) -> None:
    # Two apps on one database file are what two gunicorn workers are.
    first, second = make_app(load_settings(environ), clock), make_app(load_settings(environ), clock)

    codes = [app.test_client().post(LOGIN, json=WRONG).status_code for app in (first, second) * 2]
    for app in (first, second):
        app.extensions["gateway"].engine.dispose()

    assert codes == [401, 401, 401, 429]


@contextlib.contextmanager
def redis_server(tmp_path: Path) -> Iterator[str]:
    """Start Debian's redis-server on a free loopback port; yield its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail("REQUIRE_REDIS=1 but redis-server is not installed")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_with_redis_the_count_is_shared_across_apps(
    environ: dict[str, str], clock: FakeClock, tmp_path: Path
) -> None:
    with redis_server(tmp_path) as url:
        env = {**environ, "GATEWAY_RATELIMIT_STORAGE": url}
        apps: list[Flask] = [make_app(load_settings(env), clock) for _ in range(2)]
        codes = [app.test_client().post(LOGIN, json=WRONG).status_code for app in apps * 2]
        for app in apps:
            app.extensions["gateway"].engine.dispose()

    assert codes == [401, 401, 401, 429]


def test_an_unreachable_store_lets_requests_through_and_says_so(
    environ: dict[str, str], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    env = {**environ, "GATEWAY_RATELIMIT_STORAGE": f"redis://127.0.0.1:{closed_port}/0"}
    app = make_app(load_settings(env), clock)

    codes = [app.test_client().post(LOGIN, json=WRONG).status_code for _ in range(4)]
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    app.extensions["gateway"].engine.dispose()

    assert codes == [401] * 4
    assert "rate limit store unavailable" in caplog.text
    assert 'gateway_rate_limited_total{limit="login",outcome="store_unavailable"}' in metrics


def test_every_limited_endpoint_exists(app: Flask) -> None:
    # A renamed view would otherwise drop out of its limit without a sound.
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}

    assert set(LIMITED_ENDPOINTS) <= endpoints
    assert {
        e for e in endpoints if e.startswith(("accounts.", "email_change.", "email_recovery."))
    } - set(LIMITED_ENDPOINTS) == {
        "accounts.me",
        "accounts.logout",
    }  # the ones that need a login token, not a password


class CountingStorage(MemoryStorage):
    """limits' in-memory store, counting how often it is asked anything."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def incr(self, *args: Any, **kwargs: Any) -> int:
        self.calls += 1
        return super().incr(*args, **kwargs)

    def get(self, key: str) -> int:
        self.calls += 1
        return super().get(key)

    def get_expiry(self, key: str) -> float:
        self.calls += 1
        return super().get_expiry(key)


def two_a(period: str) -> ClientLimits:
    return ClientLimits(CountingStorage(), {"login": (parse(f"2/{period}"),)})


def refused(limits: ClientLimits, client: str, group: str = "login") -> bool:
    try:
        limits.check(group, client)
    except RateLimited:
        return True
    return False


def test_a_flood_of_refusals_costs_the_store_nothing() -> None:
    limits = two_a("minute")
    assert [refused(limits, "198.51.100.7") for _ in range(3)] == [False, False, True]
    asked = limits.storage.calls

    flood = [refused(limits, "198.51.100.7") for _ in range(1000)]

    assert all(flood)
    assert limits.storage.calls == asked
    assert not refused(limits, "198.51.100.8")  # another client still has its budget


def test_a_remembered_refusal_ends_with_its_window() -> None:
    limits = two_a("second")
    while [refused(limits, "198.51.100.7") for _ in range(3)] != [False, False, True]:
        pass  # the three attempts straddled a window's end: try again in the new one

    time.sleep(1.05)

    assert not refused(limits, "198.51.100.7")


def test_refusals_from_a_million_addresses_do_not_grow_the_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limits = two_a("minute")
    monkeypatch.setattr(limits, "REMEMBERED", 50)
    clients = [f"2001:db8:{n:x}::/64" for n in range(200)]

    for client in clients:
        for _ in range(3):
            refused(limits, client)

    assert len(limits._refused) <= 50
    assert all(refused(limits, client) for client in clients)  # the store still remembers
