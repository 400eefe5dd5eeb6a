"""Forward what the SMS channel queued for a keyword service, and answer it: the worker's
entry point of the services.

Each due forward is claimed by one conditional update that is committed before the POST
(attempts + 1, next try after the lease), so a worker killed mid-forward leaves a row another
worker takes again after the lease, re-sending the same ``webhook-id`` (the service
de-duplicates on it). The answer is recorded in one transaction that also charges the message
at its service's tariff, queues the reply and closes the forward; it happens once, for the
first attempt that gets there (the row is re-checked under its lock, and the ledger holds one
charge per message). A failure waits for its next try (back-off, GATEWAY_MT_BACKOFF_BASE
doubling up to GATEWAY_MT_BACKOFF_CAP) until GATEWAY_SERVICES_RETRY_HORIZON, then closes as
``interrupted``: apologised for, and refundable. GATEWAY_SERVICES_TRIP_AFTER interrupted in a
row turn the service's switch off.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from billing.ledger import insert_charges, message_charge
from billing.outcomes import Outcome
from gateway.clock import Clock
from gateway.delivery.outbox import enqueue, reply_row
from gateway.delivery.replies import Reply, ReplyCatalog
from gateway.models import AuditEvent, InboundMessage, ServiceForward
from gateway.ops import metrics
from gateway.ops.switches import AUTO, is_enabled, service_switch, set_switch
from gateway.services import client
from gateway.services.contract import Answer, Forward, request_body, signed_headers, webhook_id
from gateway.services.errors import ForwardFailed
from gateway.settings import ServiceSettings, Settings
from gateway.states import ForwardStatus, check_transition
from parsers import mask_id, mask_phone

log = logging.getLogger(__name__)
IN_FLIGHT = 8  # forwards posted at once, per worker process
PASS_WAIT = 0.2  # seconds a pass waits for answers before the worker decides SMS again
Post = Callable[[ServiceSettings, bytes, dict[str, str]], Answer]
_NUMBERS = re.compile(r"\d{9,}")


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    message_id: int
    service: str
    argument: str
    attempts: int
    give_up_at: dt.datetime


class Forwarder:
    """The worker's entry point of the services: forward what is due, record what came back.

    The worker decides SMS in the same loop, so a pass never waits on a slow service: the
    forwards go out on a pool of their own threads (at most IN_FLIGHT at once), and a pass
    waits only a moment (PASS_WAIT) for them before it returns. A pass reports the forwards it
    started and those still in flight as work, so the worker calls again at once rather than
    sleeping while answers are due; a pass that finds nothing to do reports 0.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        settings: Settings,
        catalog: ReplyCatalog,
        clock: Clock,
        post: Post = client.post,
        wall_clock: Callable[[], dt.datetime] = client.wall_clock,
    ) -> None:
        self._sessions = session_factory
        self._settings = settings
        self._catalog = catalog
        self._clock = clock
        self._post = post
        self._wall_clock = wall_clock
        self._pool = ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="forward")
        self._in_flight: set[Future[None]] = set()

    def __call__(self) -> int:
        """Start the due forwards there is room for; return how many are started or in flight."""
        room = IN_FLIGHT - len(self._in_flight)
        claimed = _claim(self._sessions, self._settings, self._clock.now(), room) if room else []
        self._in_flight.update(self._pool.submit(self._forward, item) for item in claimed)
        if not self._in_flight:
            return 0
        done, pending = wait(self._in_flight, timeout=PASS_WAIT)
        self._in_flight = pending
        for future in done:
            future.result()  # a bug or a database failure: the worker's loop logs and backs off
        return len(claimed) + len(done) + len(pending)

    def _forward(self, item: _Claimed) -> None:
        settings, sessions = self._settings, self._sessions
        service = settings.services.get(item.service)
        try:
            if service is None:  # removed from GATEWAY_SERVICES since it was queued
                raise ForwardFailed("not_configured")
            signed = _signed(sessions, settings, service, item, self._wall_clock)
            answer = self._post(service, *signed)
        except ForwardFailed as failed:
            metrics.count_forward(item.service, failed.code)
            _failed(sessions, settings, self._catalog, self._clock.now(), item, failed.code)
        else:
            metrics.count_forward(item.service, answer.outcome.value)
            _answered(sessions, settings, self._clock.now(), item, answer)


def _claim(
    session_factory: sessionmaker[Session], settings: Settings, now: dt.datetime, limit: int
) -> list[_Claimed]:
    """Take the due forwards for one lease, committed before any of them is posted."""
    f = ServiceForward
    with session_factory() as session:
        # Read without SQLite's write lock: most passes find nothing due, and the webhook
        # keeps storing messages meanwhile.
        session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        due = session.execute(
            select(f.id, f.message_id, f.service, f.argument, f.attempts, f.give_up_at)
            .where(f.status == ForwardStatus.PENDING, f.next_try_at <= now)
            .order_by(f.next_try_at, f.id)
            .limit(limit)
        ).all()
    if not due:
        return []
    claimed = []
    with session_factory.begin() as session:
        for row in due:
            # Another worker may have taken it since the read: the update says who did.
            taken = session.execute(
                update(f)
                .where(f.id == row.id, f.status == ForwardStatus.PENDING, f.next_try_at <= now)
                .values(attempts=f.attempts + 1, next_try_at=now + settings.worker_lease)
            ).rowcount
            if taken == 1:
                claimed.append(_Claimed(*row[:4], row.attempts + 1, row.give_up_at))
    return claimed


def _signed(
    session_factory: sessionmaker[Session],
    settings: Settings,
    service: ServiceSettings,
    item: _Claimed,
    wall_clock: Callable[[], dt.datetime],
) -> tuple[bytes, dict[str, str]]:
    with session_factory() as session:
        message = session.get_one(InboundMessage, item.message_id)
        forward = Forward(
            webhook_id=webhook_id(settings.shortcode, message.id),
            service=service.name,
            keyword=service.keywords[0],
            argument=item.argument,
            phone=message.sender,
            carrier=message.carrier,
            received_at=message.carrier_received_at or message.created_at,
        )
    body = request_body(forward)
    return body, signed_headers(service.secret, forward.webhook_id, body, wall_clock())


def _answered(
    session_factory: sessionmaker[Session],
    settings: Settings,
    now: dt.datetime,
    item: _Claimed,
    answer: Answer,
) -> None:
    with session_factory.begin() as session:
        charged = _close(session, settings, now, item, answer.outcome, answer.reply)
    if charged is not None:
        metrics.count_processed(*charged)
        log.info(
            "forward %s (%s, attempt %d): %s",
            item.message_id,
            item.service,
            item.attempts,
            answer.outcome.value,
        )


def _failed(
    session_factory: sessionmaker[Session],
    settings: Settings,
    catalog: ReplyCatalog,
    now: dt.datetime,
    item: _Claimed,
    code: str,
) -> None:
    log.warning(
        "forward %s (%s, attempt %d) failed: %s", item.message_id, item.service, item.attempts, code
    )
    delay = min(settings.mt_backoff_base * 2 ** (item.attempts - 1), settings.mt_backoff_cap)
    f = ServiceForward
    with session_factory.begin() as session:
        if now + delay < item.give_up_at:
            session.execute(
                update(f)
                .where(f.id == item.id, f.status == ForwardStatus.PENDING)
                .values(next_try_at=now + delay, last_error=code)
            )
            return
        reply = catalog.render(Reply.SERVICE_INTERRUPTED)
        charged = _close(session, settings, now, item, Outcome.INTERRUPTED, reply, code)
        if charged is not None:
            _trip_if_failing(session, settings, now, item.service, code)
    if charged is not None:
        metrics.count_processed(*charged)


def _close(
    session: Session,
    settings: Settings,
    now: dt.datetime,
    item: _Claimed,
    outcome: Outcome,
    reply: str,
    error: str | None = None,
) -> tuple[str, str, int, str] | None:
    """Charge the message at its service's tariff, queue its reply and close its forward, in
    the caller's transaction; return what the metrics count of the charge (None: another
    attempt closed it first)."""
    forward = session.scalar(
        select(ServiceForward).where(ServiceForward.id == item.id).with_for_update()
    )
    if forward is None or forward.status is not ForwardStatus.PENDING:
        return None
    check_transition(forward.status, ForwardStatus.DONE)
    forward.status, forward.outcome, forward.finished_at = ForwardStatus.DONE, outcome, now
    forward.last_error = error
    message = session.get_one(InboundMessage, item.message_id)
    message.outcome, message.replied = outcome, True
    charge = message_charge(
        message,
        tariffs=settings.tariffs(item.service),
        fallback_vnd=settings.charge_vnd,
        outcome=outcome,
        at=now,
        service=item.service,
    )
    insert_charges(session.connection(), [charge])
    # The service's reply may quote a number; the console's copy shows it masked.
    safe = _NUMBERS.sub(lambda m: mask_id(m[0]), reply)
    enqueue(session, reply_row(message, text=reply, safe_text=safe, settings=settings, now=now))
    session.add(
        AuditEvent(
            at=now,
            account_id=None,
            actor="user",
            subject=mask_phone(message.sender)[:64],
            action="service",
            channel="sms",
            outcome=outcome.value,
            detail=f"{item.service} via {message.carrier}"[:200],
        )
    )
    return message.carrier, outcome.value, charge["amount_vnd"], message.sender


def _trip_if_failing(
    session: Session, settings: Settings, now: dt.datetime, service: str, code: str
) -> None:
    """Turn the service's switch off when its last GATEWAY_SERVICES_TRIP_AFTER forwards were
    all interrupted, unless someone already set it."""
    f = ServiceForward
    last = session.scalars(
        select(f.outcome)
        .where(f.service == service, f.status == ForwardStatus.DONE)
        .order_by(f.finished_at.desc(), f.id.desc())
        .limit(settings.services_trip_after)
    ).all()
    if len(last) < settings.services_trip_after or any(o is not Outcome.INTERRUPTED for o in last):
        return
    name = service_switch(service)
    if not is_enabled(session, name, default=True):
        return
    reason = f"{len(last)} forwards in a row interrupted, the last by {code}"
    set_switch(session, name, False, now, actor=AUTO, reason=reason)
    log.error("service %s switched off: %s", service, reason)
