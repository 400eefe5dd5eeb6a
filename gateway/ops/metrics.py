"""Prometheus metrics: what the gateway counts, and the ``/metrics`` exposition.

Counters and histograms are created once per process, on first use, in a private registry; each
scrape builds a fresh registry around them, so any number of apps in one process (the tests)
share them without duplicate-registration errors. Under gunicorn, ``gunicorn.conf.py`` sets
``PROMETHEUS_MULTIPROC_DIR`` and every process writes its samples there; a scrape of any worker
then adds up all of them. The outbox gauges are read from the database at scrape time, so they
are the same whichever process answers.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.models import Account, OutboxMessage, PasswordIssue
from gateway.states import OutboxStatus

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Histogram
    from prometheus_client.metrics_core import Metric

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNFINISHED = (OutboxStatus.PENDING, OutboxStatus.SENDING)
REPLY_STATUSES = {
    OutboxStatus.SENT: "sent",
    OutboxStatus.FAILED: "failed",
    OutboxStatus.PENDING: "retry",
}
PREFIX_DIGITS = 5
CONVERSION_WINDOW = dt.timedelta(hours=24)
_BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True, slots=True)
class _Metrics:
    registry: CollectorRegistry
    received: Counter
    duplicates: Counter
    processed: Counter
    by_prefix: Counter
    charged: Counter
    refused: Counter
    rate_limited: Counter
    replies: Counter
    sim_swap_checks: Counter
    forwards: Counter
    request_seconds: Histogram
    batch_seconds: Histogram


_first_use = threading.Lock()


def _metrics() -> _Metrics:
    # Two threads of one gunicorn worker may count their first request at once. Each would
    # build its own counters; in multi-process mode both write the same keys of the process's
    # file, each from the value it read when built, and one of the counts is lost.
    with _first_use:
        return _build()


@functools.cache
def _build() -> _Metrics:
    # Imported on first use rather than with this module: prometheus_client chooses in-memory or
    # multi-process storage when it is imported, and `gateway serve` imports this module before
    # gunicorn.conf.py has set PROMETHEUS_MULTIPROC_DIR.
    from prometheus_client import CollectorRegistry, Counter, Histogram

    registry = CollectorRegistry()
    return _Metrics(
        registry=registry,
        received=Counter(
            "gateway_messages_received",
            "Inbound messages stored, by carrier (repeats not included).",
            ["carrier"],
            registry=registry,
        ),
        duplicates=Counter(
            "gateway_messages_duplicate",
            "Repeated deliveries of a stored message, answered without new work.",
            ["carrier"],
            registry=registry,
        ),
        processed=Counter(
            "gateway_messages_processed",
            "Inbound messages given their outcome by the worker.",
            ["carrier", "outcome"],
            registry=registry,
        ),
        by_prefix=Counter(
            "gateway_messages_by_prefix",
            "Processed messages by the first 5 digits of the sender (84 + network + 1): a spike "
            "from one block of numbers is a SIM farm or a loop. At most 1,000 label values.",
            ["prefix"],
            registry=registry,
        ),
        charged=Counter(
            "gateway_charges_vnd",
            "Charges recorded in the ledger, in dong.",
            ["carrier"],
            registry=registry,
        ),
        refused=Counter(
            "gateway_requests_refused",
            "HTTP requests answered with an error, by endpoint and JSON error code.",
            ["endpoint", "reason"],
            registry=registry,
        ),
        rate_limited=Counter(
            "gateway_rate_limited",
            "Requests over a per-client limit (refused), or let through because the limit "
            "store did not answer (store_unavailable), by limit.",
            ["limit", "outcome"],
            registry=registry,
        ),
        replies=Counter(
            "gateway_replies",
            "Attempts to hand a reply to a carrier: sent, failed for good, or retry later.",
            ["carrier", "status"],
            registry=registry,
        ),
        sim_swap_checks=Counter(
            "gateway_sim_swap_checks",
            "SIM swap checks asked of a carrier: swapped, not_swapped, or the check failed and "
            "the reset was let through (failed_open) or refused (failed_closed).",
            ["carrier", "result"],
            registry=registry,
        ),
        forwards=Counter(
            "gateway_service_forwards",
            "Forwards to a keyword service (docs/services.md): the service's outcome "
            "(answered, not_found, refused) or why the attempt failed (timeout, unreachable, "
            "http_<status>, bad_answer); a failure is retried until the horizon.",
            ["service", "result"],
            registry=registry,
        ),
        request_seconds=Histogram(
            "gateway_http_request_duration_seconds",
            "Time to answer an HTTP request, by Flask endpoint and carrier.",
            ["endpoint", "carrier"],
            registry=registry,
        ),
        batch_seconds=Histogram(
            "gateway_worker_batch_duration_seconds",
            "Time of one worker batch that found work: messages processed or replies sent.",
            ["stage"],
            buckets=_BATCH_BUCKETS,
            registry=registry,
        ),
    )


def count_received(carrier: str, *, duplicate: bool) -> None:
    """Count one delivery at intake: a new message or a repeat."""
    counter = _metrics().duplicates if duplicate else _metrics().received
    counter.labels(carrier).inc()


def count_processed(carrier: str, outcome: str, amount_vnd: int, sender: str = "") -> None:
    """Count one processed message, its sender's prefix and the charge recorded for it."""
    _metrics().processed.labels(carrier, outcome).inc()
    if len(sender) >= PREFIX_DIGITS and sender.isascii() and sender.isdigit():
        _metrics().by_prefix.labels(sender[:PREFIX_DIGITS]).inc()
    _metrics().charged.labels(carrier).inc(amount_vnd)


def count_refused(endpoint: str, reason: str) -> None:
    """Count one HTTP request answered with an error code."""
    _metrics().refused.labels(endpoint, reason).inc()


def count_rate_limited(limit: str, outcome: str = "refused") -> None:
    """Count one request over a per-client limit, or one let through by a failing store."""
    _metrics().rate_limited.labels(limit, outcome).inc()


def count_reply(carrier: str, status: OutboxStatus) -> None:
    """Count one send attempt's result."""
    _metrics().replies.labels(carrier, REPLY_STATUSES.get(status, status.value)).inc()


def count_sim_swap_check(carrier: str, result: str) -> None:
    """Count one SIM swap check's result (gateway/sms/sim_swap.py names them)."""
    _metrics().sim_swap_checks.labels(carrier, result).inc()


def count_forward(service: str, result: str) -> None:
    """Count one forward to a keyword service: its answer, or why it failed."""
    _metrics().forwards.labels(service, result).inc()


def observe_request(endpoint: str, carrier: str, seconds: float) -> None:
    """Record how long one HTTP request took."""
    _metrics().request_seconds.labels(endpoint, carrier).observe(seconds)


def observe_batch(stage: str, seconds: float) -> None:
    """Record how long one worker batch took."""
    _metrics().batch_seconds.labels(stage).observe(seconds)


def exposition(session: Session, now: dt.datetime, accept: str | None) -> tuple[bytes, str]:
    """Render every metric for one scrape; return the body and its content type."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import choose_encoder
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_metrics().registry)
    registry.register(_OutboxCollector(session, now))
    registry.register(_ConversionCollector(session, now))
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


class _OutboxCollector:
    """Outbox depth and the age of its oldest unfinished reply, read at scrape time."""

    def __init__(self, session: Session, now: dt.datetime) -> None:
        self._session = session
        self._now = now

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        # The status filter runs on the (status, next_attempt_at) index, and a healthy outbox
        # holds few unfinished rows, so a scrape stays cheap however long the table grows.
        query = (
            select(
                OutboxMessage.status,
                func.count(OutboxMessage.id),
                func.min(OutboxMessage.created_at),
            )
            .where(OutboxMessage.status.in_(UNFINISHED))
            .group_by(OutboxMessage.status)
        )
        rows = {status: (count, oldest) for status, count, oldest in self._session.execute(query)}
        depth = GaugeMetricFamily(
            "gateway_outbox_depth", "Replies not yet handed to a carrier.", labels=["status"]
        )
        for status in UNFINISHED:
            depth.add_metric([status.value], rows.get(status, (0, None))[0])
        oldest = [created for _count, created in rows.values() if created is not None]
        age = (self._now - min(oldest)).total_seconds() if oldest else 0.0
        yield depth
        yield GaugeMetricFamily(
            "gateway_outbox_oldest_age_seconds",
            "Age of the oldest reply not yet handed to a carrier; 0 when there is none.",
            value=max(age, 0.0),
        )


class _ConversionCollector:
    """Temporary passwords issued in the last 24 h, and how many of them were used, read at
    scrape time. Someone texting for other people's numbers (each text charged to the sender,
    or a way to annoy the owner) issues many and uses few: the ratio collapses."""

    def __init__(self, session: Session, now: dt.datetime) -> None:
        self._session = session
        self._now = now

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        since = self._now - CONVERSION_WINDOW
        recent = PasswordIssue.issued_at > since
        issued = self._session.scalar(select(func.count(PasswordIssue.id)).where(recent)) or 0
        used_query = (
            select(func.count(func.distinct(PasswordIssue.id)))
            .join(Account, Account.id == PasswordIssue.account_id)
            .where(
                recent,
                Account.temp_password_logged_in.is_(True)
                | (Account.password_changed_at >= PasswordIssue.issued_at),
            )
        )
        used = self._session.scalar(used_query) or 0
        yield GaugeMetricFamily(
            "gateway_temp_passwords_issued_24h",
            "Temporary and first passwords issued in the last 24 hours.",
            value=issued,
        )
        yield GaugeMetricFamily(
            "gateway_temp_passwords_used_24h",
            "Of those, how many were used to log in or to set a new password.",
            value=used,
        )
