"""Measure login throughput on real gunicorn, and what a login flood does to the MO webhook.

    python benchmarks/login.py [--workers N] [--seconds 5] [--database-url URL]
                               [--hash-concurrency N]

It creates a fresh SQLite file (or uses an empty server database), adds accounts with a real
argon2id password, and starts ``gateway serve`` on a free loopback port. Then, in one run:

- the raw argon2id verify rate of this machine (one process, the gateway's parameters),
  and the ceiling it sets: min(workers, cores) x that rate;
- the MO webhook's latency while nothing else runs (idle);
- logins with the right password at 4 and 16 concurrent connections: req/s, p50, p99;
- the MO webhook's latency while 16 connections flood the login endpoint.

Issue 17's targets are printed as ratios: login req/s over the ceiling (near 1 when no lock
is held across a hash), and webhook p99 under the flood over its idle value (within 2x).
Nothing is asserted: speed varies with the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import requests
from argon2 import PasswordHasher

from gateway.carriers.signing import signed_headers
from gateway.db import create_schema, make_engine, make_session_factory
from gateway.models import Account, AccountState

ROOT = Path(__file__).resolve().parents[1]
CARRIER, CARRIER_SECRET = "bench", "bench-carrier-secret-0123456789"
PASSWORD = "a benchmark passphrase"  # noqa: S105 (a fixture, not a secret)
ACCOUNTS = 64
# The gateway's parameters (gateway/accounts/passwords.py), written out so that this script
# also runs against an older checkout, for before/after figures.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environ(workdir: Path, database_url: str, port: int) -> dict[str, str]:
    env = {name: os.environ[name] for name in ("PATH", "LANG", "TMPDIR") if name in os.environ}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "XDG_RUNTIME_DIR": str(workdir),
            "DATABASE_URL": database_url,
            "GATEWAY_INSTANCE_DIR": str(workdir / "instance"),
            "GATEWAY_SECRET_KEY": uuid.uuid4().hex * 2,
            "GATEWAY_CARRIERS": CARRIER,
            f"CARRIER_{CARRIER.upper()}_SECRET": CARRIER_SECRET,
            f"CARRIER_{CARRIER.upper()}_MT_URL": "http://127.0.0.1:9/mt",  # no worker runs
            "GATEWAY_BIND": f"127.0.0.1:{port}",
            "GATEWAY_LOG_LEVEL": "WARNING",
            # Every connection here comes from one loopback address: the per-client limit
            # (benchmarks/webhook_under_login_flood.py measures it) would refuse nearly all.
            "GATEWAY_RATELIMIT_ENABLED": "false",
        }
    )
    return env


def add_accounts(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    create_schema(engine)
    password_hash = HASHER.hash(PASSWORD)
    now = dt.datetime.now(dt.UTC)
    numbers = [f"{7_000_000_000 + i:010d}" for i in range(ACCOUNTS)]
    with make_session_factory(engine).begin() as session:
        session.add_all(
            Account(
                bhxh=bhxh,
                phone=f"8491{i:07d}",
                state=AccountState.ACTIVE,
                approved_at=now,
                password_hash=password_hash,
                must_change_password=False,
                temp_password_logged_in=False,
                created_at=now,
                updated_at=now,
            )
            for i, bhxh in enumerate(numbers)
        )
    engine.dispose()
    return numbers


def raw_verify_rate(seconds: float) -> float:
    password_hash = HASHER.hash(PASSWORD)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        HASHER.verify(password_hash, PASSWORD)
        done += 1
    return done / (time.perf_counter() - started)


@contextlib.contextmanager
def gateway(env: dict[str, str], workdir: Path, workers: int, url: str) -> Iterator[None]:
    log = (workdir / "gunicorn.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "gateway", "serve", "--workers", str(workers)],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if server.poll() is not None:
                sys.exit(f"gunicorn exited:\n{(workdir / 'gunicorn.log').read_text()[-4000:]}")
            time.sleep(0.1)
        yield
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def post_mo(http: requests.Session, url: str) -> float:
    body = json.dumps(
        {"id": uuid.uuid4().hex, "from": "0912345678", "to": "8079", "text": "BH MK 0123456789"}
    ).encode()
    headers = {
        "Content-Type": "application/json",
        **signed_headers(CARRIER_SECRET, body, dt.datetime.now(dt.UTC)),
    }
    started = time.perf_counter()
    response = http.post(f"{url}/carriers/{CARRIER}/mo", data=body, headers=headers, timeout=60)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        sys.exit(f"MO webhook answered {response.status_code}: {response.text[:200]}")
    return elapsed


def webhook_latencies(url: str, count: int, stop: threading.Event | None = None) -> list[float]:
    with requests.Session() as http:
        times = []
        for _ in range(count):
            if stop is not None and stop.is_set():
                break
            times.append(post_mo(http, url))
            time.sleep(0.02)
        return times


def login_flood(
    url: str, numbers: list[str], connections: int, seconds: float
) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(index: int) -> None:
        with requests.Session() as http:
            bhxh = numbers[index % len(numbers)]
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = http.post(
                    f"{url}/api/v1/auth/login",
                    json={"bhxh": bhxh, "password": PASSWORD},
                    timeout=60,
                )
                elapsed = time.perf_counter() - started
                with lock:
                    if response.status_code == 200:
                        latencies.append(elapsed)
                    else:
                        errors[0] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started, errors[0]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # The deployment's default (gunicorn.conf.py): 2 per core + 1, at most 8.
    parser.add_argument("--workers", type=int, default=min(2 * (os.cpu_count() or 1) + 1, 8))
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--hash-concurrency",
        type=int,
        default=0,
        help="GATEWAY_HASH_CONCURRENCY for the server (default 0: the gateway's, CPUs but one)",
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench-login-") as tmp:
        workdir = Path(tmp)
        database_url = args.database_url or f"sqlite:///{workdir / 'gateway.db'}"
        numbers = add_accounts(database_url)
        raw = raw_verify_rate(2.0)
        ceiling = min(args.workers, cores) * raw
        print(f"raw argon2id verify: {raw:8.1f} /s on one core ({1000 / raw:.1f} ms each)")
        print(f"ceiling: min({args.workers} workers, {cores} cores) x raw = {ceiling:.1f} logins/s")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = environ(workdir, database_url, port)
        env["GATEWAY_HASH_CONCURRENCY"] = str(args.hash_concurrency)
        print(f"argon2 slots (GATEWAY_HASH_CONCURRENCY): {args.hash_concurrency or 'default'}")
        with gateway(env, workdir, args.workers, url):
            webhook_latencies(url, 10)  # warm up every worker
            # The ratio's denominator: enough posts for a p99 that holds still between runs.
            idle = webhook_latencies(url, 500)
            print(
                f"MO webhook idle:      p50 {statistics.median(idle) * 1000:7.1f} ms  "
                f"p99 {p99(idle) * 1000:7.1f} ms"
            )
            for connections in (4, 16):
                latencies, elapsed, errors = login_flood(url, numbers, connections, args.seconds)
                rate = len(latencies) / elapsed
                print(
                    f"login x{connections:<2}: {rate:7.1f} req/s  p50 "
                    f"{statistics.median(latencies) * 1000:7.1f} ms  p99 "
                    f"{p99(latencies) * 1000:7.1f} ms  {rate / ceiling:4.2f} of the ceiling"
                    + (f"  ({errors} non-200)" if errors else "")
                )
            stop = threading.Event()
            during: list[float] = []
            prober = threading.Thread(
                target=lambda: during.extend(webhook_latencies(url, 10_000, stop))
            )
            prober.start()
            latencies, elapsed, _ = login_flood(url, numbers, 16, args.seconds)
            stop.set()
            prober.join()
            print(
                f"MO webhook under x16 login flood ({len(latencies) / elapsed:.1f} logins/s): "
                f"p50 {statistics.median(during) * 1000:7.1f} ms  p99 {p99(during) * 1000:7.1f} ms"
                f"  {p99(during) / p99(idle):4.1f}x idle p99"
            )


if __name__ == "__main__":
    main()
