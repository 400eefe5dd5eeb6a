"""Measure what a citizen's sign-in costs the server: with a passkey, and with a password.

    python benchmarks/passkey_signin.py [--accounts 32] [--signins 200] [--threads 4]
                                        [--hash-concurrency N] [--without-rate-limits]

It builds the app in this process (``gateway.app.create_app``) on a fresh SQLite file in a
temporary folder, with GATEWAY_PUBLIC_URL=http://localhost:8000 (passkeys on, RP ID localhost)
and the per-client limits raised far above what the run sends (they still count every request,
as deployed; ``--without-rate-limits`` turns them off). It adds ``--accounts`` accounts with a
password hashed with the gateway's own argon2id parameters (``gateway.accounts.passwords``),
logs each in with its password and registers a passkey for it through the JSON API, as the
VssID app does. The device is ``tests/passkey_authenticator.py``'s ``SoftAuthenticator`` (a
software WebAuthn authenticator from the test-suite; nothing else of the tests is used).

Then, through the Flask test client (no HTTP, no other process), ``--signins`` sign-ins of each
kind, spread over the accounts:

- password: ``POST /api/v1/auth/login``;
- passkey: ``POST /api/v1/passkeys/authentication/options``, the device signs, then
  ``POST /api/v1/passkeys/authentication/verify``.

Timed is the server's part only: the requests of one sign-in, not the device's signing (printed
apart). Per kind: sign-ins/s, p50 and p99 ms per complete sign-in, CPU ms per sign-in, and the
ratio passkey/password. Baselines from the same run: ``GET /healthz`` through the same client
(the floor of any request) and a raw argon2id verify (the floor of a password login). With
``--threads`` above 1, the same again from that many threads at once (each its own client and
accounts); refused answers (429 when no argon2 slot frees up) are counted, not timed.
Nothing is asserted: speed varies with the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.passkey_authenticator, run from anywhere

from gateway.accounts.passwords import DEFAULT_HASHER  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.db import create_schema  # noqa: E402
from gateway.models import Account, AccountState  # noqa: E402
from gateway.settings import load_settings  # noqa: E402
from tests.passkey_authenticator import SoftAuthenticator  # noqa: E402

ORIGIN = "http://localhost:8000"
PASSWORD = "a benchmark passphrase"  # noqa: S105 (a fixture, not a secret)
LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/passkeys/registration"
SIGN_IN = "/api/v1/passkeys/authentication"
CARRIER = "viettel"
# Far above what a run sends from its one address: the limits count, never refuse.
RAISED_LIMIT = "1000000/minute"
# The gateway's parameters (gateway/accounts/passwords.py), for the raw baseline; checked below.
RAW = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@dataclass
class Citizen:
    """One account and the phone holding its passkey."""

    bhxh: str
    device: SoftAuthenticator = field(default_factory=lambda: SoftAuthenticator(origin=ORIGIN))


@dataclass
class Timings:
    """Server seconds per complete sign-in, the device's signing (wall, CPU), refusals, and the
    phase's wall and process CPU seconds."""

    server: list[float] = field(default_factory=list)
    device: list[float] = field(default_factory=list)
    device_cpu: float = 0.0
    refused: int = 0
    wall: float = 0.0
    cpu: float = 0.0


def environ(workdir: Path, rate_limits: bool, hash_concurrency: int) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{workdir / 'gateway.db'}",
        "GATEWAY_INSTANCE_DIR": str(workdir / "instance"),
        "GATEWAY_SECRET_KEY": uuid.uuid4().hex * 2,
        "GATEWAY_CARRIERS": CARRIER,
        f"CARRIER_{CARRIER.upper()}_SECRET": "bench-carrier-secret-0123456789",
        f"CARRIER_{CARRIER.upper()}_MT_URL": "http://127.0.0.1:9/mt",  # no worker runs
        "GATEWAY_PUBLIC_URL": ORIGIN,
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_RATELIMIT_ENABLED": "true" if rate_limits else "false",
        "GATEWAY_RATELIMIT_LOGIN": RAISED_LIMIT,
        "GATEWAY_RATELIMIT_RECOVERY": RAISED_LIMIT,
        "GATEWAY_HASH_CONCURRENCY": str(hash_concurrency),
    }


def build_app(workdir: Path, rate_limits: bool, hash_concurrency: int) -> Flask:
    app = create_app(load_settings(environ(workdir, rate_limits, hash_concurrency)))
    create_schema(app.extensions["gateway"].engine)
    return app


def add_accounts(app: Flask, count: int) -> list[Citizen]:
    """Add ``count`` active accounts sharing one password hash (the gateway's argon2id)."""
    runtime = app.extensions["gateway"]
    password_hash = DEFAULT_HASHER.hash(PASSWORD)
    now = dt.datetime.now(dt.UTC)
    citizens = [Citizen(f"{7_000_000_000 + i:010d}") for i in range(count)]
    with runtime.session_factory.begin() as session:
        session.add_all(
            Account(
                bhxh=citizen.bhxh,
                phone=f"8498{i:07d}",
                state=AccountState.ACTIVE,
                approved_at=now,
                password_hash=password_hash,
                must_change_password=False,
                temp_password_logged_in=False,
                created_at=now,
                updated_at=now,
            )
            for i, citizen in enumerate(citizens)
        )
    return citizens


def expect(answer: TestResponse, status: int, what: str) -> dict[str, Any]:
    """Return the answer's JSON, or stop the run when its status is not ``status``."""
    body = answer.get_json(silent=True)
    if answer.status_code != status:
        sys.exit(f"{what} answered {answer.status_code}, not {status}: {body}")
    return body if isinstance(body, dict) else {}


def register_passkeys(client: FlaskClient, citizens: list[Citizen]) -> None:
    """Log each citizen in with the password, then add a passkey with the fresh token."""
    for citizen in citizens:
        login = client.post(LOGIN, json={"bhxh": citizen.bhxh, "password": PASSWORD})
        bearer = {"Authorization": f"Bearer {expect(login, 200, 'login')['token']}"}
        begun = expect(
            client.post(f"{REGISTER}/options", json={}, headers=bearer), 200, "registration"
        )
        credential = citizen.device.create(begun["options"])
        body = {"request_id": begun["request_id"], "credential": credential, "name": "bench"}
        expect(client.post(f"{REGISTER}/verify", json=body, headers=bearer), 201, "registration")


# -- one sign-in of each kind -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """Server seconds of a sign-in's requests, the device's wall and CPU seconds, and whether
    it signed in (False: refused 429)."""

    server: float
    device: float = 0.0
    device_cpu: float = 0.0
    ok: bool = True


def password_signin(client: FlaskClient, citizen: Citizen) -> Outcome:
    started = time.perf_counter()
    answer = client.post(LOGIN, json={"bhxh": citizen.bhxh, "password": PASSWORD})
    server = time.perf_counter() - started
    if answer.status_code == 429:
        return Outcome(server, ok=False)
    expect(answer, 200, "password login")
    return Outcome(server)


def passkey_signin(client: FlaskClient, citizen: Citizen) -> Outcome:
    started = time.perf_counter()
    begun = client.post(f"{SIGN_IN}/options", json={})
    options_done = time.perf_counter()
    if begun.status_code == 429:
        return Outcome(options_done - started, ok=False)
    begun_json = expect(begun, 200, "passkey options")
    cpu = time.thread_time()
    credential = citizen.device.get(begun_json["options"])
    device_cpu = time.thread_time() - cpu
    signed = time.perf_counter()
    body = {"request_id": begun_json["request_id"], "credential": credential}
    answer = client.post(f"{SIGN_IN}/verify", json=body)
    finished = time.perf_counter()
    server = (options_done - started) + (finished - signed)
    outcome = Outcome(server, signed - options_done, device_cpu, answer.status_code != 429)
    if outcome.ok:
        expect(answer, 200, "passkey sign-in")
    return outcome


Signin = Callable[[FlaskClient, Citizen], Outcome]


def run(app: Flask, signin: Signin, citizens: list[Citizen], count: int, threads: int) -> Timings:
    """``count`` sign-ins from ``threads`` threads, thread t using accounts t, t+threads, ...

    Each account belongs to one thread: a device's counter must reach the server in order.
    """
    timings = Timings()
    lock = threading.Lock()

    def worker(index: int) -> None:
        client = app.test_client()
        mine = citizens[index::threads]
        outcomes = [
            signin(client, mine[n % len(mine)])
            for n in range(count // threads + (index < count % threads))
        ]
        with lock:
            timings.server.extend(o.server for o in outcomes if o.ok)
            timings.device.extend(o.device for o in outcomes if o.device)
            timings.device_cpu += sum(o.device_cpu for o in outcomes)
            timings.refused += sum(not o.ok for o in outcomes)

    cpu, started = time.process_time(), time.perf_counter()
    if threads == 1:
        worker(0)
    else:
        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    timings.wall = time.perf_counter() - started
    timings.cpu = time.process_time() - cpu
    return timings


def raw_verify(seconds: float) -> list[float]:
    password_hash = RAW.hash(PASSWORD)
    if DEFAULT_HASHER.needs_rehash(password_hash):
        print("note: the raw baseline's argon2 parameters differ from the gateway's")
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        RAW.verify(password_hash, PASSWORD)
        times.append(time.perf_counter() - started)
    return times


def healthz(client: FlaskClient, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        expect(client.get("/healthz"), 200, "/healthz")
        times.append(time.perf_counter() - started)
    return times


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def line(label: str, times: list[float], rate: float, extra: str = "") -> None:
    print(
        f"{label:<34} {rate:8.1f} /s  p50 {ms(statistics.median(times))}  "
        f"p99 {ms(p99(times))}{extra}"
    )


def rate(timings: Timings) -> float:
    """Sign-ins per second of wall time (which includes the device's signing: see its line)."""
    return len(timings.server) / timings.wall if timings.server else float("nan")


def cpu_each(timings: Timings) -> float:
    """The process's CPU seconds per sign-in, less the device's signing; refused attempts'
    CPU is counted against the sign-ins that went through."""
    return (timings.cpu - timings.device_cpu) / max(1, len(timings.server))


def report(label: str, timings: Timings) -> float:
    """Print a phase; return its p50."""
    extra = f"  CPU {ms(cpu_each(timings))}"
    if timings.refused:
        extra += f"  ({timings.refused} refused 429)"
    line(label, timings.server, rate(timings), extra)
    return statistics.median(timings.server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=32, help="accounts with a passkey [32]")
    parser.add_argument("--signins", type=int, default=200, help="sign-ins of each kind [200]")
    parser.add_argument("--threads", type=int, default=4, help="concurrent run; 1: none [4]")
    parser.add_argument(
        "--hash-concurrency",
        type=int,
        default=0,
        help="GATEWAY_HASH_CONCURRENCY (default 0: the gateway's, CPUs but one)",
    )
    parser.add_argument(
        "--without-rate-limits",
        action="store_true",
        help="GATEWAY_RATELIMIT_ENABLED=false (default: on, limits raised out of the way)",
    )
    args = parser.parse_args()
    if args.accounts < max(1, args.threads):
        parser.error("--accounts must be at least --threads")
    with tempfile.TemporaryDirectory(prefix="bench-passkey-") as tmp:
        app = build_app(Path(tmp), not args.without_rate_limits, args.hash_concurrency)
        client = app.test_client()
        started = time.perf_counter()
        citizens = add_accounts(app, args.accounts)
        register_passkeys(client, citizens)
        print(
            f"{args.accounts} accounts, each a password login and a passkey registered: "
            f"{time.perf_counter() - started:.1f} s; per-client limits "
            + ("off" if args.without_rate_limits else f"on at {RAISED_LIMIT}")
        )

        raw = raw_verify(2.0)
        line("raw argon2id verify (baseline)", raw, len(raw) / sum(raw))
        health = healthz(client, 500)
        line("GET /healthz (baseline)", health, len(health) / sum(health))

        # One of each first: caches, the dummy hash, first-query costs.
        run(app, password_signin, citizens, min(4, args.signins), 1)
        run(app, passkey_signin, citizens, min(4, args.signins), 1)

        for threads in sorted({1, args.threads}):
            print(f"-- {args.signins} sign-ins of each kind, {threads} thread(s)")
            password = run(app, password_signin, citizens, args.signins, threads)
            passkey = run(app, passkey_signin, citizens, args.signins, threads)
            password_p50 = report("password login", password)
            passkey_p50 = report("passkey options + verify", passkey)
            print(
                f"{'  the device signing (not counted)':<34} p50 "
                f"{ms(statistics.median(passkey.device))}"
            )
            cpu_ratio = cpu_each(passkey) / cpu_each(password)
            print(
                f"passkey/password: p50 {passkey_p50 / password_p50:5.2f}x  "
                f"p99 {p99(passkey.server) / p99(password.server):5.2f}x  "
                f"sign-ins/s {rate(passkey) / rate(password):5.2f}x  CPU {cpu_ratio:5.2f}x  "
                f"p50 {passkey_p50 / statistics.median(health):5.1f}x /healthz, "
                f"password p50 {password_p50 / statistics.median(raw):4.2f}x raw verify"
            )
        app.extensions["gateway"].engine.dispose()


if __name__ == "__main__":
    main()
