"""The load generator and the fast fake carrier that ``message_path.py`` drives both sides with.

The generator is closed-loop: ``connections`` asyncio tasks each send a request, read the whole
answer and send the next one, reconnecting whenever the server closes the connection (gunicorn's
sync workers close after every answer; that costs both sides the same). Every request is built
fresh by a callable, so each MO can carry its own id and signature. The same code and the same
settings drive the bare Flask baselines and the gateway, so only the server differs.

``run_paced`` is the open-loop variant: requests leave on a fixed schedule (a rate offered, as
carriers offer MOs), whatever the answers' speed, for the MO → reply latency at a given rate.

The fake carrier answers every MT request at once with ``200 {"message_id": ...}`` and keeps
the connection alive; it runs in its own process so that it never competes with the generator
for the interpreter lock, and writes ``<in_reply_to> <unix time>`` for each reply it got.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one run of the generator measured."""

    ok: int
    errors: int
    seconds: float
    latencies: list[float]  # seconds, one per successful request
    answered: int = 0  # every answer, the warm-up's and stragglers' included
    cpu_seconds: float | None = None  # the server's CPU time over the whole run, when measured

    @property
    def cpu_ms_per_request(self) -> float | None:
        if self.cpu_seconds is None or not self.answered:
            return None
        return 1000 * self.cpu_seconds / self.answered

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Return the p-th percentile latency in milliseconds (0 when nothing succeeded)."""
        if len(self.latencies) < 2:
            return 1000 * self.latencies[0] if self.latencies else 0.0
        return 1000 * statistics.quantiles(self.latencies, n=100, method="inclusive")[int(p) - 1]


def run_load(
    host: str,
    port: int,
    make_request: Callable[[], bytes],
    *,
    connections: int = 16,
    seconds: float = 5.0,
    warmup: float = 0.5,
) -> LoadResult:
    """Drive ``connections`` closed loops for ``warmup + seconds``; count only the last part."""
    return asyncio.run(_run(host, port, make_request, connections, seconds, warmup))


async def _run(
    host: str,
    port: int,
    make_request: Callable[[], bytes],
    connections: int,
    seconds: float,
    warmup: float,
) -> LoadResult:
    loop = asyncio.get_running_loop()
    start = loop.time() + warmup
    end = start + seconds
    latencies: list[float] = []
    errors = [0]
    answered = [0]

    async def client() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while loop.time() < end:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            sent_at = loop.time()
            try:
                writer.write(make_request())
                status, keep_alive = await _read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                writer = None
                continue
            done_at = loop.time()
            answered[0] += 1
            if sent_at >= start and done_at <= end:
                if 200 <= status < 300:
                    latencies.append(done_at - sent_at)
                else:
                    errors[0] += 1
            if not keep_alive:
                writer.close()
                writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    return LoadResult(len(latencies), errors[0], seconds, latencies, answered[0])


def run_paced(
    host: str,
    port: int,
    make_request: Callable[[], bytes],
    *,
    rate: float,
    seconds: float,
    connections: int = 8,
) -> LoadResult:
    """Offer ``rate`` requests a second for ``seconds``, spread over ``connections``, each on
    its own schedule (a late answer delays only the next request of its connection)."""
    return asyncio.run(_paced(host, port, make_request, rate, seconds, connections))


async def _paced(
    host: str,
    port: int,
    make_request: Callable[[], bytes],
    rate: float,
    seconds: float,
    connections: int,
) -> LoadResult:
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    end = start + seconds
    interval = connections / rate
    latencies: list[float] = []
    errors = [0]

    async def client(k: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        due = start + k * interval / connections
        while due < end:
            await asyncio.sleep(max(0.0, due - loop.time()))
            due += interval
            sent_at = loop.time()
            try:
                writer.write(make_request())
                status, keep_alive = await _read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                keep_alive, status = False, 0
            if 200 <= status < 300:
                latencies.append(loop.time() - sent_at)
            else:
                errors[0] += 1
            if not keep_alive:
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
        writer.close()

    await asyncio.gather(*(client(k) for k in range(connections)))
    return LoadResult(len(latencies), errors[0], seconds, latencies, len(latencies) + errors[0])


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, status = lines[0].split(" ", 2)[:2]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    await reader.readexactly(int(headers.get("content-length", "0")))
    keep_alive = headers.get("connection") != "close" and version == "HTTP/1.1"
    return int(status), keep_alive


def process_cpu_seconds(pid: int) -> float:
    """Return the CPU time of a process and all its descendants, live or reaped (Linux /proc).

    gunicorn recycles workers (``max_requests``): a reaped worker's time is in its parent's
    ``cutime``/``cstime``, a live one's in its own ``utime``/``stime``.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited while we looked
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    family = {pid}
    grew = True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in family and child not in family:
                family.add(child)
                grew = True
    return sum(times.get(member, 0) for member in family) / ticks


def http_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """Return the bytes of one HTTP/1.1 request with a body."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# --- the fast fake carrier ----------------------------------------------------------------


def serve_carrier(port: int, record: Path, ready: object) -> None:
    """Accept every MT request on ``port`` until terminated; append arrivals to ``record``."""
    asyncio.run(_serve_carrier(port, record, ready))


async def _serve_carrier(port: int, record: Path, ready: object) -> None:
    answered = 0
    with record.open("a", buffering=1) as out:

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal answered
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":", 1)[1])
                    body = await reader.readexactly(length)
                    now = time.time()
                    try:
                        in_reply_to = json.loads(body).get("in_reply_to")
                    except ValueError:
                        in_reply_to = None
                    out.write(f"{in_reply_to} {now:.6f}\n")
                    answered += 1
                    answer = b'{"message_id": "fake-%d"}' % answered
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer)
                    )
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        ready.set()  # type: ignore[attr-defined]
        async with server:
            await server.serve_forever()
