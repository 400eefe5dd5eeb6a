"""The background worker: process what each channel received and, in a second loop beside it,
hand due replies, notices and emails to the carriers and the SMTP relay.

The worker knows no channel: the runtime gives it each channel's "process what was received"
entry point (one batch a call, returning how much it looked at) and it calls them in turn. How
a channel claims its work, so that two workers never both process one item and a crash leaves
nothing half-done, is the channel's business.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gateway.carriers.base import Transport
from gateway.clock import Clock
from gateway.delivery.mail import Mailer
from gateway.delivery.outbox import dispatch_pending
from gateway.delivery.sending import ReplySender
from gateway.delivery.wakeup import INBOUND, OUTBOX, Listener
from gateway.schema import describe
from gateway.settings import Settings

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Worker:
    """Everything one worker process needs; ``run`` loops, ``run_once`` does one pass."""

    settings: Settings
    session_factory: sessionmaker[Session]
    transports: Mapping[str, Transport]
    clock: Clock
    # Each channel's "process one batch of what was received; return how much was looked at".
    inbound: Sequence[Callable[[], int]] = ()
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    mailer: Mailer | None = None
    # Kept for the process's life, so that a carrier's rate limit spans batches.
    sender: ReplySender | None = None

    def run_once(self) -> int:
        """Process one batch of what each channel received, send one batch of the outbox;
        return the work done."""
        return self.process_inbound() + self.dispatch_outbox()

    def process_inbound(self) -> int:
        """Process one batch of what each channel received; return the work looked at."""
        return sum(process() for process in self.inbound)

    # The name the tests and tools used when the worker decided the SMS batches itself.
    process_pending = process_inbound

    def dispatch_outbox(self) -> int:
        """Send one claimed batch of the outbox; return how many rows were attempted."""
        return dispatch_pending(
            self.session_factory,
            self.transports,
            settings=self.settings,
            clock=self.clock,
            worker_id=self.worker_id,
            mailer=self.mailer,
            sender=self.sender,
        )

    def drain(self) -> int:
        """Repeat passes until nothing is due now; return the total work done."""
        total = 0
        while done := self.run_once():
            total += done
        return total

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set, waiting for a wake-up (or the poll interval) whenever
        nothing was due.

        Inbound processing and the outbox run in two loops side by side, so that deciding
        messages never waits for carriers to answer, nor sending for deciding. They share only
        the database, where the leases and row locks already keep two workers apart. Each loop
        sleeps on an event that the wake-up listener (gateway/delivery/wakeup.py) sets when
        work is announced, and the inbound loop sets the outbox's after a pass that found work
        (its replies are committed by then); the poll interval bounds every sleep, so a lost
        wake-up costs one interval.
        """
        log.info("worker %s started", self.worker_id)
        outage = threading.Event()  # shared: one database outage is logged once, not per loop
        ready = {INBOUND: threading.Event(), OUTBOX: threading.Event()}
        listener = None
        if self.settings.worker_wakeup:
            listener = Listener(self.session_factory.kw["bind"], ready, stop)
            listener.start()
        waker = threading.Thread(target=_wake_on, args=(stop, ready), name="stop", daemon=True)
        waker.start()
        outbox = threading.Thread(
            target=self._loop,
            args=(self.dispatch_outbox, stop, outage, ready[OUTBOX]),
            name="outbox",
            daemon=True,
        )
        outbox.start()
        try:
            self._loop(self.process_inbound, stop, outage, ready[INBOUND], then=ready[OUTBOX])
        finally:
            stop.set()
            outbox.join()
            if listener is not None:
                listener.join()
        log.info("worker %s stopped", self.worker_id)

    def _loop(
        self,
        work: Callable[[], int],
        stop: threading.Event,
        outage: threading.Event,
        ready: threading.Event,
        then: threading.Event | None = None,
    ) -> None:
        failures = 0
        while not stop.is_set():
            # Cleared before the pass, not after: work announced while it runs wakes the next.
            ready.clear()
            try:
                done = work()
            except Exception as exc:
                # The database may be restarting: stay alive, back off, and say so once per
                # outage (a pass every poll interval would bury the log in tracebacks).
                failures += 1
                delay = backoff_delay(self.settings.worker_poll_interval, failures)
                if failures == 1 and not outage.is_set():
                    outage.set()
                    _log_outage(exc, delay)
                stop.wait(delay)  # not woken early: wake-ups must not defeat the back-off
                continue
            if failures:
                if outage.is_set():
                    outage.clear()
                    log.info("worker passes work again after %d failed", failures)
                failures = 0
            if done and then is not None:
                then.set()
            if not done and not stop.is_set():  # a stop after the clear above is seen here
                ready.wait(self.settings.worker_poll_interval)


def _wake_on(stop: threading.Event, ready: Mapping[str, threading.Event]) -> None:
    stop.wait()
    for event in ready.values():
        event.set()


def backoff_delay(poll_interval: float, failures: int) -> float:
    """Seconds to wait after ``failures`` failed passes in a row: doubling, at most a minute."""
    return min(poll_interval * 2 ** min(failures, 16), MAX_BACKOFF_SECONDS)


def _log_outage(exc: Exception, delay: float) -> None:
    if isinstance(exc, SQLAlchemyError):
        log.error(
            "worker pass failed: %s; retrying with back-off (%.1f s, doubling up to %d s), "
            "silent until it works again",
            describe(exc),
            delay,
            MAX_BACKOFF_SECONDS,
        )
    else:  # not the database: a bug whose traceback is worth one look
        log.exception("worker pass failed; retrying with back-off, silent until it works again")
