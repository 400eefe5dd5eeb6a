"""The background worker: process received messages and email recovery requests and, in a
second loop beside it, hand due replies, notices and emails to the carriers and the SMTP relay.

Received messages are decided in batches, one transaction each (gateway/sms/batch.py): rows
claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, re-checked under SQLite's one writer,
and only while still ``received``. Two workers never both process one message, and a crash
leaves nothing half-done. A batch that fails is decided again one message per transaction.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from billing.ledger import LedgerEntry
from gateway.clock import Clock
from gateway.delivery.carriers.base import Transport
from gateway.delivery.mail import Mailer
from gateway.delivery.outbox import dispatch_pending
from gateway.delivery.replies import ReplyCatalog
from gateway.delivery.sending import ReplySender
from gateway.email.recovery import process_requests
from gateway.errors import BatchFailed
from gateway.models import InboundMessage
from gateway.ops import metrics
from gateway.preflight import describe
from gateway.settings import Settings
from gateway.sms.batch import process_batch
from gateway.sms.batch_store import Charged
from gateway.sms.recovery import Context, fail_message, process_message
from gateway.states import MessageStatus

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Worker:
    """Everything one worker process needs; ``run`` loops, ``run_once`` does one pass."""

    settings: Settings
    session_factory: sessionmaker[Session]
    transports: Mapping[str, Transport]
    catalog: ReplyCatalog
    clock: Clock
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    mailer: Mailer | None = None
    # Kept for the process's life, so that a carrier's rate limit spans batches.
    sender: ReplySender | None = None

    def run_once(self) -> int:
        """Process one batch of messages and of email requests, send one batch of the outbox;
        return the work done."""
        return self.process_inbound() + self.dispatch_outbox()

    def process_inbound(self) -> int:
        """Process one batch of received messages and one of email requests."""
        done = self.process_pending()
        return done + process_requests(
            self.session_factory, settings=self.settings, clock=self.clock
        )

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
        """Work until ``stop`` is set, sleeping the poll interval whenever nothing was due.

        Inbound processing and the outbox run in two loops side by side, so that deciding
        messages never waits for carriers to answer, nor sending for deciding. They share only
        the database, where the leases and row locks already keep two workers apart.
        """
        log.info("worker %s started", self.worker_id)
        outage = threading.Event()  # shared: one database outage is logged once, not per loop
        outbox = threading.Thread(
            target=self._loop,
            args=(self.dispatch_outbox, stop, outage),
            name="outbox",
            daemon=True,
        )
        outbox.start()
        try:
            self._loop(self.process_inbound, stop, outage)
        finally:
            stop.set()
            outbox.join()
        log.info("worker %s stopped", self.worker_id)

    def _loop(
        self, work: Callable[[], int], stop: threading.Event, outage: threading.Event
    ) -> None:
        failures = 0
        while not stop.is_set():
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
                stop.wait(delay)
                continue
            if failures:
                if outage.is_set():
                    outage.clear()
                    log.info("worker passes work again after %d failed", failures)
                failures = 0
            if not done:
                stop.wait(self.settings.worker_poll_interval)

    def process_pending(self) -> int:
        """Decide one batch of received messages; return how many were looked at.

        The batch commits as a whole (gateway/sms/batch.py). If it fails, each of its messages
        is decided alone, so one that cannot be processed ends as system_error after
        GATEWAY_WORKER_MAX_ATTEMPTS tries instead of holding back the others.
        """
        started = time.perf_counter()
        try:
            batch = process_batch(
                self.session_factory,
                self._context(self.settings.sms_reset_enabled),
                self.settings.worker_batch_size,
            )
        except BatchFailed as failed:
            log.warning(
                "batch of %d messages failed (%s); deciding them one by one",
                len(failed.ids),
                type(failed.__cause__).__name__,
                exc_info=failed.__cause__,  # a bug, or a database failing: worth one look
            )
            for message_id in failed.ids:
                self._process_one(message_id, failed.sms_reset_enabled)
            return len(failed.ids)
        for charged in batch.charged:  # counted once committed
            _count(charged)
        if batch.looked_at:  # idle polls would bury the real batches under near-zero timings
            metrics.observe_batch("messages", time.perf_counter() - started)
        return batch.looked_at

    def _process_one(self, message_id: int, sms_reset_enabled: bool) -> None:
        charge = None
        try:
            with self.session_factory.begin() as session:
                message = self._lock_received(session, message_id)
                if message is not None:
                    charge = process_message(session, message, self._context(sms_reset_enabled))
        except Exception as exc:
            log.exception("message %s: processing failed", message_id)
            self._record_failure(message_id, sms_reset_enabled, exc)
        else:
            # Counted once committed: a rolled-back message is processed again later.
            _count(charge)

    def _record_failure(self, message_id: int, sms_reset_enabled: bool, exc: Exception) -> None:
        with self.session_factory.begin() as session:
            session.execute(
                update(InboundMessage)
                .where(InboundMessage.id == message_id)
                .values(attempts=InboundMessage.attempts + 1, last_error=type(exc).__name__)
            )
            message = self._lock_received(session, message_id)
            charge = None
            if message is not None and message.attempts >= self.settings.worker_max_attempts:
                charge = fail_message(session, message, self._context(sms_reset_enabled))
        _count(charge)

    def _lock_received(self, session: Session, message_id: int) -> InboundMessage | None:
        query = (
            select(InboundMessage)
            .where(InboundMessage.id == message_id, InboundMessage.status == MessageStatus.RECEIVED)
            .with_for_update(skip_locked=True)
        )
        return session.scalars(query).one_or_none()

    def _context(self, sms_reset_enabled: bool) -> Context:
        return Context(self.settings, self.catalog, sms_reset_enabled, self.clock.now())


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


def _count(charge: LedgerEntry | Charged | None) -> None:
    if charge is not None:
        metrics.count_processed(
            charge.carrier, charge.outcome.value, charge.amount_vnd, charge.phone
        )
