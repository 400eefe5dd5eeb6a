"""The SMS recovery use case: decide what the carriers delivered, charge it, answer it.

:func:`process_received` is the channel's entry point for the worker: it decides one batch of
received messages in one transaction (:mod:`gateway.sms.batch`, by the rules of
:mod:`gateway.sms.rules`), so a worker that dies half-way leaves the batch exactly as it found
it. A batch that fails is decided again by the same path, one message per batch, so that one
message that cannot be processed ends as ``system_error`` after GATEWAY_WORKER_MAX_ATTEMPTS
tries instead of holding back the others.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterable

from sqlalchemy.orm import Session, sessionmaker

from gateway.clock import Clock
from gateway.delivery.replies import ReplyCatalog
from gateway.errors import BatchFailed
from gateway.ops import metrics
from gateway.settings import ServiceSettings, Settings
from gateway.sms.batch import Context, process_batch, record_failure
from gateway.sms.batch_store import Charged
from gateway.sms.sim_swap import SimSwapChecks
from parsers import Keyword, KeywordTable

log = logging.getLogger(__name__)


def process_received(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    catalog: ReplyCatalog,
    clock: Clock,
    sim_swap: SimSwapChecks | None = None,
) -> int:
    """Decide one batch of received messages; return how many were looked at."""
    started = time.perf_counter()
    keywords = keyword_table(tuple(settings.services.values()))
    context = Context(
        settings, catalog, settings.sms_reset_enabled, clock.now(), sim_swap, keywords
    )
    try:
        batch = process_batch(session_factory, context, settings.worker_batch_size)
    except BatchFailed as failed:
        log.warning(
            "batch of %d messages failed (%s); deciding them one by one",
            len(failed.ids),
            type(failed.__cause__).__name__,
            exc_info=failed.__cause__,  # a bug, or a database failing: worth one look
        )
        for message_id in failed.ids:
            alone = Context(
                settings, catalog, failed.sms_reset_enabled, clock.now(), sim_swap, keywords
            )
            _decide_alone(session_factory, alone, message_id)
        return len(failed.ids)
    _count(batch.charged)  # once committed
    if batch.looked_at:  # idle polls would bury the real batches under near-zero timings
        metrics.observe_batch("messages", time.perf_counter() - started)
    return batch.looked_at


@functools.lru_cache(maxsize=4)
def keyword_table(services: tuple[ServiceSettings, ...]) -> KeywordTable | None:
    """Compile the keyword services' keywords once per configuration (None: no services)."""
    if not services:
        return None
    return KeywordTable(Keyword(s.name, s.keywords, s.argument) for s in services)


def _decide_alone(
    session_factory: sessionmaker[Session], context: Context, message_id: int
) -> None:
    try:
        charged = process_batch(session_factory, context, 1, ids=[message_id]).charged
    except Exception as exc:
        log.exception("message %s: processing failed", message_id)
        cause = exc.__cause__ if isinstance(exc, BatchFailed) and exc.__cause__ else exc
        charged = record_failure(session_factory, context, message_id, type(cause).__name__)
    # Counted once committed: a rolled-back message is processed again later.
    _count(charged)


def _count(charged: Iterable[Charged]) -> None:
    for charge in charged:
        metrics.count_processed(
            charge.carrier, charge.outcome.value, charge.amount_vnd, charge.phone
        )
