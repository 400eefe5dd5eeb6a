"""Measure the carrier webhook's latency idle and while 8 clients flood the login endpoint.

    python benchmarks/webhook_under_login_flood.py [--requests 300] [--setup NAME]
                                                   [--database-url postgresql+psycopg://...]

For each setup it starts a real ``gateway serve`` (gunicorn, its default worker count) on
loopback with a fresh SQLite file, posts signed MOs one after the other and times them
(idle), then does the same while 8 threads of another process post wrong passwords to
``/api/v1/auth/login`` as fast as they are answered, each as its own client
(``X-Forwarded-For`` behind one trusted hop). Setups:

- ``unbounded``: no per-client limit and hashing slots as many as the workers (the
  behaviour before the limits: every login is a full argon2 hash);
- ``slots only``: no per-client limit, argon2 bounded to one per CPU but one;
- ``defaults``: the shipped defaults (per-client limits and the bound).

It prints p50/p99 of the webhook in each phase, their ratio, and how logins were answered.
Nothing is asserted: speed depends on the machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import multiprocessing.synchronize
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import requests

from gateway.carriers.signing import signed_headers
from gateway.clock import SystemClock

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-carrier-secret-0123456789"  # noqa: S105 - a throw-away local carrier
FLOODERS = 8
SETUPS = {
    "unbounded": {"GATEWAY_RATELIMIT_ENABLED": "false", "GATEWAY_HASH_CONCURRENCY": "64"},
    "slots only": {"GATEWAY_RATELIMIT_ENABLED": "false"},
    "defaults": {},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environ(workdir: Path, port: int, extra: dict[str, str], database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url or f"sqlite:///{workdir / 'gateway.db'}",
        "GATEWAY_INSTANCE_DIR": str(workdir / "instance"),
        "GATEWAY_SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "GATEWAY_CARRIERS": "bench",
        "CARRIER_BENCH_SECRET": SECRET,
        "CARRIER_BENCH_MT_URL": "http://127.0.0.1:9/mt",
        "GATEWAY_BIND": f"127.0.0.1:{port}",
        "GATEWAY_PROXY_HOPS": "1",
        "GATEWAY_LOG_LEVEL": "WARNING",
        **extra,
    }


def start(workdir: Path, env: dict[str, str], url: str) -> subprocess.Popen[bytes]:
    gateway = [sys.executable, "-m", "gateway"]
    subprocess.run([*gateway, "init-db"], env=env, cwd=workdir, check=True, capture_output=True)  # noqa: S603
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    server = subprocess.Popen([*gateway, "serve"], env=env, cwd=workdir, **quiet)  # noqa: S603
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return server
        except requests.RequestException:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("gunicorn did not start")


def time_webhook(http: requests.Session, url: str, count: int) -> list[float]:
    clock, timings = SystemClock(), []
    for _ in range(count):
        payload = {
            "id": uuid.uuid4().hex,
            "from": "84912345678",
            "to": "8079",
            "text": "BH MK 0123456789",
        }
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **signed_headers(SECRET, body, clock.now())}
        started = time.perf_counter()
        answer = http.post(f"{url}/carriers/bench/mo", data=body, headers=headers, timeout=30)
        timings.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise SystemExit(f"webhook answered {answer.status_code}: {answer.text[:200]}")
    return timings


def flood(url: str, client: int, stop: threading.Event, answers: Counter[int]) -> None:
    http = requests.Session()
    headers = {"X-Forwarded-For": f"198.51.100.{client + 1}"}
    body = {"bhxh": "0123456789", "password": "not the password"}
    while not stop.is_set():
        try:
            status = http.post(
                f"{url}/api/v1/auth/login", json=body, headers=headers, timeout=30
            ).status_code
        except requests.RequestException:
            status = 0
        answers[status] += 1


def flood_clients(
    url: str, stop: multiprocessing.synchronize.Event, results: multiprocessing.SimpleQueue
) -> None:
    """Run the flooding clients, one thread each, until told to stop; report their answers."""
    done, answers = threading.Event(), Counter[int]()
    clients = [
        threading.Thread(target=flood, args=(url, n, done, answers)) for n in range(FLOODERS)
    ]
    for thread in clients:
        thread.start()
    stop.wait()
    done.set()
    for thread in clients:
        thread.join()
    results.put(answers)


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def measure(name: str, extra: dict[str, str], count: int, database_url: str) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-flood-") as folder:
        workdir, port = Path(folder), free_port()
        url = f"http://127.0.0.1:{port}"
        server = start(workdir, environ(workdir, port, extra, database_url), url)
        try:
            http = requests.Session()
            time_webhook(http, url, 20)  # warm up connections and workers
            idle = time_webhook(http, url, count)
            # The flood runs in a process of its own, as an attacker does on a machine of its
            # own: sharing this process, its threads would hold the GIL the timing thread
            # needs, and the script would time itself, not the webhook.
            stop, results = multiprocessing.Event(), multiprocessing.SimpleQueue()
            flooders = multiprocessing.Process(target=flood_clients, args=(url, stop, results))
            flooders.start()
            time.sleep(1)  # let the flood take hold
            loaded = time_webhook(http, url, count)
            stop.set()
            answers = results.get()
            flooders.join()
        finally:
            server.terminate()
            server.wait(timeout=30)
    idle_p99, loaded_p99 = percentile(idle, 0.99), percentile(loaded, 0.99)
    logins = ", ".join(f"{code}: {n}" for code, n in sorted(answers.items()))
    print(
        f"{name:<11} {statistics.median(idle) * 1000:8.1f} {idle_p99 * 1000:8.1f}"
        f" {statistics.median(loaded) * 1000:9.1f} {loaded_p99 * 1000:9.1f}"
        f" {loaded_p99 / idle_p99:7.1f}x   {logins}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="webhook posts per phase")
    parser.add_argument("--setup", choices=sorted(SETUPS), action="append", help="only these")
    parser.add_argument(
        "--database-url", default="", help="an empty server database (default: a fresh SQLite file)"
    )
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; webhook latency in ms over {args.requests} posts per phase")
    print(f"{'setup':<11} {'idle p50':>8} {'idle p99':>8} {'flood p50':>9} {'flood p99':>9}"
          f" {'p99 x':>8}   logins answered (status: count)")  # fmt: skip
    for name in args.setup or SETUPS:
        measure(name, SETUPS[name], args.requests, args.database_url)


if __name__ == "__main__":
    main()
