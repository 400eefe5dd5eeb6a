"""Hand a claimed batch of replies to the carriers concurrently, a bounded number at a time.

Each carrier gets its own lane: at most ``CARRIER_<NAME>_MAX_CONNECTIONS`` requests in flight
(their connections kept alive by the shared HTTP pool) and, when the carrier sets one, at most
``CARRIER_<NAME>_MAX_PER_SECOND`` requests started per second by this process. Emails go one
at a time, as before. A slow or dead carrier therefore only holds up its own lane.

This module only sends: the outbox decides what to send and records what happened, so the
lease, retry and give-up rules stay in one place (gateway/delivery/outbox.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

from gateway.carriers.base import SendReceipt
from gateway.errors import SendError
from gateway.settings import EMAIL_CARRIER, Settings

T = TypeVar("T")
log = logging.getLogger(__name__)

EMAIL_CONNECTIONS = 1  # the relay may count connections per client; one at a time, as before
RESULT_WAIT = 0.25  # seconds: results are handed back at least this often while sends run


@dataclass(frozen=True, slots=True)
class Sent(Generic[T]):
    """What one send gave: a receipt, a send error, or neither when there is nothing to record
    (the lease was lost before sending, or the send broke unexpectedly)."""

    item: T
    receipt: SendReceipt | None = None
    error: SendError | None = None


class RateLimit:
    """Spaces the starts of requests to one carrier ``1 / per_second`` apart (0: no limit).

    Thread-safe; each caller is given the next free slot, so the rate holds however many
    threads share the carrier, and a burst never exceeds one request per slot.
    """

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1 / per_second if per_second > 0 else 0.0
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def delay(self) -> float:
        """Take the next slot; return how long to wait before it comes."""
        if not self._interval:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._interval
        return slot - now

    def wait(self) -> None:
        """Take the next slot and sleep until it comes."""
        pause = self.delay()
        if pause > 0:
            time.sleep(pause)


class ReplySender:
    """Runs sends in per-carrier lanes; one per worker process, so rate limits span batches."""

    def __init__(self, settings: Settings) -> None:
        self._width = {name: c.max_connections for name, c in settings.carriers.items()}
        self._width[EMAIL_CARRIER] = EMAIL_CONNECTIONS
        self._limits = {name: RateLimit(c.max_per_second) for name, c in settings.carriers.items()}

    def send_all(
        self,
        items: Iterable[T],
        lane: Callable[[T], str],
        send: Callable[[T], SendReceipt | None],
    ) -> Iterator[list[Sent[T]]]:
        """Send every item in its lane; yield the results in groups as they complete.

        ``send`` returns a receipt, raises a SendError, or returns None to skip the item (its
        lease was lost).
        """
        lanes: dict[str, list[T]] = defaultdict(list)
        for item in items:
            lanes[lane(item)].append(item)
        pools = {
            name: ThreadPoolExecutor(
                max_workers=min(self._width.get(name, 1), len(queued)),
                thread_name_prefix=f"send-{name}",
            )
            for name, queued in lanes.items()
        }
        try:
            futures: dict[Future[Sent[T]], T] = {}
            for name, queued in lanes.items():
                limit = self._limits.get(name)
                for item in queued:
                    futures[pools[name].submit(_attempt, item, send, limit)] = item
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=RESULT_WAIT, return_when=FIRST_COMPLETED)
                if done:
                    yield [future.result() for future in done]
        finally:
            for pool in pools.values():
                pool.shutdown(wait=True, cancel_futures=True)


def _attempt(item: T, send: Callable[[T], SendReceipt | None], limit: RateLimit | None) -> Sent[T]:
    if limit is not None:
        limit.wait()
    try:
        receipt = send(item)
    except SendError as exc:
        return Sent(item, error=exc)
    except Exception:
        # A bug or a broken adapter: record nothing for this item (its lease runs out and it
        # is tried again), but let the rest of the batch, maybe already sent, be recorded.
        log.exception("send failed unexpectedly")
        return Sent(item)
    return Sent(item, receipt=receipt)
