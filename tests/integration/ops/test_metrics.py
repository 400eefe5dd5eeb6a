"""/metrics after real flows: counters by label, outbox gauges read from the database.

Counters live as long as the test process and every app shares them, so each test compares a
scrape taken after its flow with one taken before.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.ledger import EntryKind, LedgerEntry
from gateway.carriers.fake import FakeTransport
from gateway.clock import FakeClock
from gateway.errors import RetryableSendError
from gateway.ops import metrics
from gateway.worker import Worker
from tests.conftest import CARRIER_SECRETS, signed_post
from tests.harness import Phones, add_account
from tests.scrape import Scrape, grew


def test_metrics_is_prometheus_text(client: FlaskClient) -> None:
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert "version=" in response.content_type
    text = response.get_data(as_text=True)
    assert "# TYPE gateway_outbox_depth gauge" in text
    assert "# TYPE gateway_outbox_oldest_age_seconds gauge" in text


def test_metrics_speaks_openmetrics_when_asked(client: FlaskClient) -> None:
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})

    assert response.mimetype == "application/openmetrics-text"
    assert response.get_data(as_text=True).rstrip().endswith("# EOF")


def test_flows_are_counted_by_carrier_outcome_and_reason(
    client: FlaskClient, phones: Phones, session: Session, clock: FakeClock
) -> None:
    add_account(session)
    before = Scrape(client)

    phones.text("0912345678", "BH MK 0123456789")
    phones.text("0912345678", "BH MK 01234", carrier="mobifone")
    phones.text("0977000111", "BH MK 0123456789")
    repeat = {"id": "metrics-repeat", "from": "0912000000", "to": "8079", "text": "xin chao"}
    for _ in range(2):
        signed_post(
            client, "/carriers/viettel/mo", repeat, secret=CARRIER_SECRETS["viettel"], clock=clock
        )
    refused = signed_post(
        client, "/carriers/viettel/mo", repeat, secret="not-the-secret-0000000", clock=clock
    )
    phones.worker.drain()
    after = Scrape(client)

    assert refused.status_code == 401
    assert grew(before, after, "gateway_messages_received_total", carrier="viettel") == 3
    assert grew(before, after, "gateway_messages_received_total", carrier="mobifone") == 1
    assert grew(before, after, "gateway_messages_duplicate_total", carrier="viettel") == 1
    processed = collections.Counter(
        {
            (carrier, outcome): grew(
                before,
                after,
                "gateway_messages_processed_total",
                carrier=carrier,
                outcome=outcome,
            )
            for carrier in CARRIER_SECRETS
            for outcome in ("reset_sent", "wrong_syntax", "not_matched")
        }
    )
    assert +processed == {
        ("viettel", "reset_sent"): 1,
        ("viettel", "not_matched"): 1,
        ("viettel", "wrong_syntax"): 1,
        ("mobifone", "wrong_syntax"): 1,
    }
    assert grew(before, after, "gateway_requests_refused_total", reason="bad_signature") == 1
    assert grew(before, after, "gateway_replies_total", carrier="viettel", status="sent") == 3
    assert grew(before, after, "gateway_replies_total", carrier="mobifone", status="sent") == 1
    charged = _charged_by_carrier(session)
    for carrier in CARRIER_SECRETS:
        assert grew(before, after, "gateway_charges_vnd_total", carrier=carrier) == charged[carrier]
    assert charged["viettel"] > 0
    latency = "gateway_http_request_duration_seconds_count"
    assert grew(before, after, latency, carrier="viettel") == 5
    assert grew(before, after, latency, carrier="mobifone") == 1


def test_batches_are_timed_only_when_they_found_work(
    client: FlaskClient, phones: Phones, worker: Worker
) -> None:
    before = Scrape(client)
    phones.text("0912345678", "xin chao")
    worker.drain()  # finds nothing more: not a batch
    after = Scrape(client)

    batches = "gateway_worker_batch_duration_seconds_count"
    assert grew(before, after, batches, stage="messages") == 1
    assert grew(before, after, batches, stage="replies") == 1


def test_outbox_depth_and_age_follow_a_failing_carrier(
    client: FlaskClient,
    phones: Phones,
    carriers: dict[str, FakeTransport],
    clock: FakeClock,
    worker: Worker,
) -> None:
    carriers["viettel"].fail_next(RetryableSendError("carrier answered 503"))
    before = Scrape(client)

    assert phones.text("0912345678", "xin chao") == []
    clock.advance(seconds=90)
    waiting = Scrape(client)
    clock.advance(minutes=10)
    worker.drain()
    drained = Scrape(client)

    assert waiting.total("gateway_outbox_depth", status="pending") == 1
    assert waiting.total("gateway_outbox_depth", status="sending") == 0
    assert waiting.total("gateway_outbox_oldest_age_seconds") == pytest.approx(90)
    assert grew(before, waiting, "gateway_replies_total", carrier="viettel", status="retry") == 1
    assert drained.total("gateway_outbox_depth") == 0
    assert drained.total("gateway_outbox_oldest_age_seconds") == 0
    assert grew(waiting, drained, "gateway_replies_total", carrier="viettel", status="sent") == 1


def test_refusals_are_labelled_by_endpoint_not_by_path(client: FlaskClient) -> None:
    before = Scrape(client)

    client.post("/carriers/no-such-carrier-0912345678/mo", json={})
    client.get("/no/such/path/0912345678")
    after = Scrape(client)

    assert grew(before, after, "gateway_requests_refused_total", reason="unknown_carrier") == 1
    assert grew(before, after, "gateway_requests_refused_total", endpoint="unmatched") == 1
    label_values = {value for _name, labels in after.samples for _key, value in labels}
    assert not any("0912345678" in value for value in label_values)
    assert "unknown" in label_values


def test_a_request_id_is_echoed_or_made(client: FlaskClient) -> None:
    given = client.get("/healthz", headers={"X-Request-Id": "lb-7f3a.42"})
    unsafe = client.get("/healthz", headers={"X-Request-Id": "x" * 65})
    personal = client.get("/healthz", headers={"X-Request-Id": "call-0912345678"})

    assert given.headers["X-Request-Id"] == "lb-7f3a.42"
    assert len(unsafe.headers["X-Request-Id"]) == 32
    assert "0912345678" not in personal.headers["X-Request-Id"]


def _charged_by_carrier(session: Session) -> Mapping[str, int]:
    totals: collections.Counter[str] = collections.Counter()
    query = select(LedgerEntry).where(LedgerEntry.kind == EntryKind.CHARGE)
    for entry in session.scalars(query):
        totals[entry.carrier] += entry.amount_vnd
    return totals


def test_threads_counting_their_first_request_at_once_share_one_set_of_counters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A gthread worker's first requests arrive together. Two sets of counters in one process
    # would each write their own running total to the same key: counts lost (issue 17).
    import prometheus_client

    class SlowRegistry(prometheus_client.CollectorRegistry):
        def __init__(self) -> None:  # as slow as the first import is in a fresh worker
            time.sleep(0.05)
            super().__init__()

    monkeypatch.setattr(prometheus_client, "CollectorRegistry", SlowRegistry)
    metrics._build.cache_clear()
    threads = 8
    together = threading.Barrier(threads)

    def first_use(_: int) -> int:
        together.wait()
        return id(metrics._metrics())

    with ThreadPoolExecutor(threads) as pool:
        built = set(pool.map(first_use, range(threads)))

    assert len(built) == 1
