"""Measure the message path (MO ingest, then MO → reply) beside bare Flask in the same run.

    python benchmarks/message_path.py [--seconds 5] [--connections 16] [--drain-limit 30]
    DATABASE_URL=postgresql+psycopg://…/empty_db python benchmarks/message_path.py --scale-out

Every server runs under the project's ``gunicorn.conf.py`` (same workers, timeouts, logging)
and is driven by the same load generator (``loadgen.py``) on loopback:

1. bare Flask "ok", then bare Flask + one SQLite insert: the baselines;
2. the gateway's signed MO webhook with the worker stopped: every MO from its own phone, so
   none is rate limited and each one earns a reply;
3. the worker started alone on that backlog: how fast it drains it (replies accepted by the
   fake carrier per second);
4. the webhook again with the worker running: the ingest rate, and end to end the replies the
   fake carrier accepted while the load ran, with the MO → reply latency;
5. the gateway idle for a while (its CPU: no busy polling), then MOs offered at fixed rates
   (``--rates``, 50 and 200 a second) and their MO → reply latency;
6. the bare pipeline, the floor of this design: bare Flask + one insert, woken poller
   (``bare_poller.py``) replying with one ``requests.Session``, at saturation and at the
   same rates.

The fake carrier answers at once in its own process (never the bottleneck). Nothing is
asserted; each phase is bounded by ``--seconds`` or ``--drain-limit``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import itertools
import json
import multiprocessing
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.loadgen import (
    LoadResult,
    http_request,
    process_cpu_seconds,
    run_load,
    run_paced,
    serve_carrier,
)
from gateway.carriers.signing import signed_headers

ROOT = Path(__file__).resolve().parents[1]
CARRIER = "bench"
SECRET = secrets.token_hex(32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per phase")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--drain-limit", type=float, default=30.0, help="seconds to wait to drain")
    parser.add_argument("--rates", default="50,200", help="MOs/s offered for the latency phases")
    parser.add_argument("--idle-seconds", type=float, default=5.0, help="idle CPU measured")
    parser.add_argument(
        "--scale-out",
        action="store_true",
        help="only compare one worker process with two draining the same backlog (PostgreSQL)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-path-") as tmp:
        workdir = Path(tmp)
        with fake_carrier(workdir) as (carrier_url, record):
            if args.scale_out:
                scale_out(workdir, carrier_url, record, args)
            else:
                bench(workdir, carrier_url, record, args)
    return 0


def scale_out(workdir: Path, carrier_url: str, record: Path, args: argparse.Namespace) -> None:
    """Store a backlog with the workers stopped, drain it with one worker process; again with
    two; print each drain rate (replies accepted per second) and the ratio of two to one."""
    env = environ(workdir, carrier_url)
    load = {"connections": args.connections, "seconds": args.seconds}
    subprocess.run([sys.executable, "-m", "gateway", "init-db"], env=env, cwd=workdir, check=True)
    mos = MoFactory()
    rates = {}
    database = database_pid(env.get("DATABASE_URL"))
    with gunicorn(workdir, env, "wsgi:app", "gateway") as (port, _pid):
        for processes in (1, 2):
            replied_before = len(record.read_text().splitlines())
            run_load("127.0.0.1", port, mos.next_request, **load)
            backlog = mos.count - replied_before
            with contextlib.ExitStack() as stack:
                pids = [stack.enter_context(worker(workdir, env)) for _ in range(processes)]
                # Timed from the first reply: both runs pay the same start-up, which would
                # otherwise flatter one worker.
                first, _ = wait_replies(record, replied_before + 1, args.drain_limit)
                cpu_before = sum(process_cpu_seconds(pid) for pid in pids)
                db_before = process_cpu_seconds(database) if database else 0.0
                drained, seconds = wait_replies(record, mos.count, args.drain_limit)
                cpu = sum(process_cpu_seconds(pid) for pid in pids) - cpu_before
                db_cpu = process_cpu_seconds(database) - db_before if database else None
            done = drained - first
            rates[processes] = done / seconds
            db_text = "" if db_cpu is None else f", database {1000 * db_cpu / max(done, 1):.1f}"
            print(
                f"{processes} worker process(es): {done} of {backlog} replies in {seconds:.1f} s: "
                f"{rates[processes]:,.0f}/s; CPU ms/reply: workers {1000 * cpu / max(done, 1):.1f}"
                f"{db_text}; CPUs busy {(cpu + (db_cpu or 0)) / seconds:.2f}"
            )
    print(f"two workers / one: {rates[2] / rates[1]:.2f}x")


def bench(workdir: Path, carrier_url: str, record: Path, args: argparse.Namespace) -> None:
    env = environ(workdir, carrier_url)
    load = {"connections": args.connections, "seconds": args.seconds}
    rates = [float(rate) for rate in args.rates.split(",") if rate]
    results: list[tuple[str, LoadResult | None, str]] = []

    get = http_request("GET", "/", {})
    with gunicorn(workdir, env, "benchmarks.baseline_app:ok_app", "ok") as (port, pid):
        bare = measured(pid, lambda: run_load("127.0.0.1", port, lambda: get, **load))
    body_request = http_request("POST", "/", {"Content-Type": "application/json"}, b'{"a": 1}' * 8)
    with gunicorn(workdir, env, "benchmarks.baseline_app:insert_app", "insert") as (port, pid):
        bare_insert = measured(
            pid, lambda: run_load("127.0.0.1", port, lambda: body_request, **load)
        )
    results += [("bare Flask ok", bare, ""), ("bare Flask + 1 SQLite insert", bare_insert, "")]
    floor = bare_pipeline(workdir, env, carrier_url, record, rates, args)
    results += [(name, None, figure.line()) for name, figure in floor.items()]

    subprocess.run([sys.executable, "-m", "gateway", "init-db"], env=env, cwd=workdir, check=True)
    mos = MoFactory()
    earlier = len(record.read_text().splitlines())  # the bare pipeline's replies
    with gunicorn(workdir, env, "wsgi:app", "gateway") as (port, pid):
        stopped = measured(pid, lambda: run_load("127.0.0.1", port, mos.next_request, **load))
        results.append(("MO ingest, worker stopped", stopped, ""))
        backlog = mos.count
        with worker(workdir, env) as worker_pid:
            cpu_before = process_cpu_seconds(worker_pid)
            drained, drain_seconds = wait_replies(record, earlier + backlog, args.drain_limit)
            drained -= earlier
            cpu_drain = process_cpu_seconds(worker_pid) - cpu_before
            drain = rate_line(drained, drain_seconds, bare_insert)
            drain += f"; worker CPU {1000 * cpu_drain / max(drained, 1):.1f} ms/reply"
            results.append(("worker draining alone", None, drain))
            sent_before = mos.count
            cpu_before = process_cpu_seconds(worker_pid)
            running = measured(pid, lambda: run_load("127.0.0.1", port, mos.next_request, **load))
            results.append(("MO ingest, worker running", running, ""))
            replied, _ = wait_replies(record, earlier + mos.count, args.drain_limit)
            replied -= earlier
            cpu_running = process_cpu_seconds(worker_pid) - cpu_before
            e2e = replies_to(record, mos, sent_before)
            note = e2e.line(floor.get("bare pipeline end to end"))
            note += f", {e2e.rate / bare_insert.rate:.2f}x insert"
            note += f"; worker CPU {1000 * cpu_running / max(e2e.expected, 1):.1f} ms/reply"
            results.append(("end to end (MO → reply accepted)", None, note))
            time.sleep(1)  # the last replies' stragglers
            idle = idle_cpu([pid, worker_pid], args.idle_seconds)
            results.append(("idle: server + worker CPU", None, f"{100 * idle:.2f}% of one CPU"))
            for rate in rates:
                paced = offered(port, mos, rate, record, args)
                floor_line = floor.get(f"bare pipeline at {rate:g} MOs/s")
                results.append((f"MO → reply at {rate:g} MOs/s", None, paced.line(floor_line)))
    report(results, bare, bare_insert, replied, mos.count)


@dataclasses.dataclass(frozen=True)
class Replies:
    """The replies to a run of MOs: how many came, their rate and MO → reply latency."""

    replied: int
    expected: int
    seconds: float
    latencies: list[float]  # seconds, sorted

    @property
    def rate(self) -> float:
        return self.replied / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        return 1000 * self.latencies[min(len(self.latencies) - 1, int(len(self.latencies) * p))]

    def line(self, floor: Replies | None = None) -> str:
        text = (
            f"{self.replied}/{self.expected} replied, {self.rate:,.0f}/s over {self.seconds:.1f}"
            f" s; MO→reply p50 {self.percentile(0.5):,.1f} ms p99 {self.percentile(0.99):,.1f} ms"
        )
        if floor is not None and floor.rate and floor.latencies:
            text += (
                f" ({self.rate / floor.rate:.2f}x the bare pipeline's rate, p50"
                f" {self.percentile(0.5) / floor.percentile(0.5):.1f}x, p99"
                f" {self.percentile(0.99) / floor.percentile(0.99):.1f}x)"
            )
        return text


def bare_pipeline(
    workdir: Path,
    env: dict[str, str],
    carrier_url: str,
    record: Path,
    rates: list[float],
    args: argparse.Namespace,
) -> dict[str, Replies]:
    """Run the floor: bare Flask + insert poking a poller that replies; at saturation (the
    closed-loop load) and at each offered rate."""
    env = {
        **env,
        "BENCH_SQLITE_PATH": str(workdir / "pipeline.db"),
        "BENCH_WAKEUP_SOCKET": str(workdir / "pipeline.sock"),
    }
    mos = MoFactory(signed=False)
    figures = {}
    with gunicorn(workdir, env, "benchmarks.baseline_app:insert_app", "pipeline") as (port, _):
        argv = [sys.executable, str(ROOT / "benchmarks" / "bare_poller.py"), carrier_url]
        with running(workdir, "poller", argv, env):
            time.sleep(1)  # its socket bound
            load = {"connections": args.connections, "seconds": args.seconds}
            run_load("127.0.0.1", port, mos.next_request, **load)
            wait_replies_to(record, mos, 0, args.drain_limit)
            figures["bare pipeline end to end"] = replies_to(record, mos, 0)
            for rate in rates:
                figures[f"bare pipeline at {rate:g} MOs/s"] = offered(port, mos, rate, record, args)
    return figures


def offered(
    port: int, mos: MoFactory, rate: float, record: Path, args: argparse.Namespace
) -> Replies:
    """Offer MOs at ``rate`` a second for ``--seconds``; return their replies once all came."""
    first = mos.count
    run_paced("127.0.0.1", port, mos.next_request, rate=rate, seconds=args.seconds)
    wait_replies_to(record, mos, first, args.drain_limit)
    return replies_to(record, mos, first)


def idle_cpu(pids: list[int], seconds: float) -> float:
    """Return the CPUs the processes (and their children) kept busy while nothing happened."""
    before = sum(process_cpu_seconds(pid) for pid in pids)
    time.sleep(seconds)
    return (sum(process_cpu_seconds(pid) for pid in pids) - before) / seconds


def database_pid(url: str | None) -> int | None:
    """Return the PostgreSQL server's main process when it runs on this machine, else None
    (its backends are its children, so its CPU time covers every connection's work)."""
    if not url or not url.startswith("postgresql"):
        return None
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            pid = connection.scalar(
                text("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
            )
    finally:
        engine.dispose()
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None  # a server on another machine
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def measured(pid: int, run: Callable[[], LoadResult]) -> LoadResult:
    """Run a load and attach the CPU time the server (``pid`` and its workers) spent on it."""
    before = process_cpu_seconds(pid)
    result = run()
    return dataclasses.replace(result, cpu_seconds=process_cpu_seconds(pid) - before)


class MoFactory:
    """Build signed MO requests, each with a new id from a new phone; remember when each left."""

    def __init__(self, *, signed: bool = True) -> None:
        self._signed = signed
        self._numbers = itertools.count(1)
        self._run = secrets.token_hex(4)
        self.sent_at: dict[str, float] = {}
        self.count = 0

    def next_request(self) -> bytes:
        number = next(self._numbers)
        mo_id = f"b-{self._run}-{number}"
        phone = f"849{number:08d}"  # a new phone each time: no rate limit, always a reply
        payload = {"id": mo_id, "from": phone, "to": "8079", "text": "BH MK 0123456789"}
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if self._signed:
            headers.update(signed_headers(SECRET, body, dt.datetime.now(dt.UTC)))
        self.sent_at[mo_id] = time.time()
        self.count += 1  # requests sent, a few of them after the measured window closed
        path = f"/carriers/{CARRIER}/mo" if self._signed else "/"
        return http_request("POST", path, headers, body)

    def ids(self, first: int) -> list[str]:
        """Return the ids of the MOs sent after the first ``first``."""
        return [f"b-{self._run}-{n}" for n in range(first + 1, self.count + 1)]


def wait_replies(record: Path, expected: int, limit: float) -> tuple[int, float]:
    """Wait until the carrier has ``expected`` replies or ``limit`` seconds pass; return both."""
    started = time.monotonic()
    count = 0
    while time.monotonic() - started < limit:
        count = len(record.read_text().splitlines())
        if count >= expected:
            break
        time.sleep(0.1)
    return count, time.monotonic() - started


def wait_replies_to(record: Path, mos: MoFactory, first: int, limit: float) -> None:
    """Wait until every MO sent after the first ``first`` has its reply, or ``limit`` seconds."""
    ids = set(mos.ids(first))
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        lines = record.read_text().splitlines()
        if len(ids & {line.split()[0] for line in lines}) >= len(ids):
            return
        time.sleep(0.1)


def replies_to(record: Path, mos: MoFactory, first: int) -> Replies:
    """Describe the replies to the MOs sent after the first ``first``: rate (from the first MO
    to the last reply) and MO → reply latencies."""
    ids = set(mos.ids(first))
    arrivals = {}
    for line in record.read_text().splitlines():
        mo_id, at = line.split()
        if mo_id in ids:
            arrivals[mo_id] = float(at)
    if not arrivals:
        return Replies(0, len(ids), 0.0, [])
    latencies = sorted(arrivals[i] - mos.sent_at[i] for i in arrivals)
    window = max(arrivals.values()) - min(mos.sent_at[i] for i in ids)
    return Replies(len(arrivals), len(ids), window, latencies)


def rate_line(count: int, seconds: float, bare_insert: LoadResult) -> str:
    rate = count / seconds if seconds else 0.0
    return (
        f"{count} replies in {seconds:.1f} s: {rate:,.0f}/s, {rate / bare_insert.rate:.2f}x insert"
    )


def report(
    results: list[tuple[str, LoadResult | None, str]],
    bare: LoadResult,
    bare_insert: LoadResult,
    replied: int,
    sent: int,
) -> None:
    print(
        f"{'figure':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'err':>5} {'CPU ms/req':>10}"
        "  ratio / note"
    )
    for name, result, note in results:
        if result is None:
            print(f"{name:<34} {'':>8} {'':>8} {'':>8} {'':>5} {'':>10}  {note}")
            continue
        cpu = result.cpu_ms_per_request
        cpu_text = "" if cpu is None else f"{cpu:.2f}"
        ratio = ""
        if result is not bare:
            ratio = f"{result.rate / bare.rate:.2f}x ok"
            if result is not bare_insert:
                ratio += f", {result.rate / bare_insert.rate:.2f}x insert"
        print(
            f"{name:<34} {result.rate:>8,.0f} {result.percentile(50):>8.1f} "
            f"{result.percentile(99):>8.1f} {result.errors:>5} {cpu_text:>10}  {ratio}{note}"
        )
    print(f"replies accepted by the fake carrier: {replied} of {sent} MOs sent")


def environ(workdir: Path, carrier_url: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in ("PATH", "LANG", "TMPDIR") if name in os.environ}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "XDG_RUNTIME_DIR": str(workdir),
            "GATEWAY_INSTANCE_DIR": str(workdir / "instance"),
            "GATEWAY_SECRET_KEY": secrets.token_hex(32),
            "GATEWAY_CARRIERS": CARRIER,
            f"CARRIER_{CARRIER.upper()}_SECRET": SECRET,
            f"CARRIER_{CARRIER.upper()}_MT_URL": carrier_url,
            "GATEWAY_LOG_LEVEL": "WARNING",
            "BENCH_SQLITE_PATH": str(workdir / "baseline.db"),
        }
    )
    if "DATABASE_URL" in os.environ:
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    return env


@contextlib.contextmanager
def gunicorn(workdir: Path, env: dict[str, str], app: str, name: str) -> Iterator[tuple[int, int]]:
    """Serve ``app`` under the project's gunicorn.conf.py on a free port until the block ends."""
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]
    argv += ["--bind", f"127.0.0.1:{port}", app]
    with running(workdir, name, argv, env) as pid:
        wait_answering(port, "/healthz" if app == "wsgi:app" else "/")
        yield port, pid


@contextlib.contextmanager
def worker(workdir: Path, env: dict[str, str]) -> Iterator[int]:
    with running(workdir, "worker", [sys.executable, "-m", "gateway", "worker"], env) as pid:
        yield pid


@contextlib.contextmanager
def running(workdir: Path, name: str, argv: list[str], env: dict[str, str]) -> Iterator[int]:
    with (workdir / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(  # noqa: S603
            argv, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def fake_carrier(workdir: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    record = workdir / "carrier.txt"
    record.touch()
    ready = multiprocessing.Event()
    process = multiprocessing.Process(target=serve_carrier, args=(port, record, ready), daemon=True)
    process.start()
    try:
        ready.wait(10)
        yield f"http://127.0.0.1:{port}/mt", record
    finally:
        process.terminate()
        process.join(10)


def wait_answering(port: int, path: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answered on port {port} within 30 s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
