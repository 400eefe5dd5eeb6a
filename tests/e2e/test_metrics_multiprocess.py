"""/metrics under real gunicorn: counts from every web worker and the worker process add up.

    carrier stand-in --MO--> gateway serve --workers 3 --with-worker --MT--> stand-in

The outcome counters are incremented only in the ``--with-worker`` process, never in the web
process that answers the scrape: seeing them proves the multi-process collection.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.stand_in import CarrierStandIn
from tests.e2e.support import CARRIER, Gateway, new_mo_id, post_mo, serving_gateway, settle

pytestmark = pytest.mark.e2e

MESSAGES = 6
SCRAPES = 6
LOG_DEADLINE = 10.0  # seconds for gunicorn to write an access line


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, carrier: CarrierStandIn
) -> Iterator[tuple[Gateway, Path]]:
    workdir = tmp_path_factory.mktemp("metrics")
    settings = {
        "TMPDIR": str(workdir),  # where gunicorn.conf.py makes the metrics directory
        "GATEWAY_LOG_FORMAT": "json",
    }
    with serving_gateway(workdir, carrier, settings, workers=3, with_worker=True) as (gateway, _):
        yield gateway, workdir


def scrape(gateway: Gateway) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = requests.get(f"{gateway.url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_add_up_across_processes(
    served: tuple[Gateway, Path], carrier: CarrierStandIn
) -> None:
    gateway, workdir = served
    ids = [new_mo_id() for _ in range(MESSAGES)]

    def deliver(index: int) -> requests.Response:
        return post_mo(gateway, "xin chao", f"0986{index:06d}", ids[index])

    with ThreadPoolExecutor(max_workers=MESSAGES) as pool:  # spread over the web workers
        answers = list(pool.map(deliver, range(MESSAGES)))
    repeat = post_mo(gateway, "xin chao", "0986000000", ids[0])
    refused = post_mo(gateway, "xin chao", "0986000000", ids[0], secret="x" * 24)
    for mo_id in ids:
        carrier.wait_for_reply(mo_id, gateway)
    # One more message, answered only after the worker has recorded every earlier send.
    settle(gateway, carrier)
    total = MESSAGES + 1

    assert [a.status_code for a in answers] == [200] * MESSAGES, [a.text for a in answers]
    assert (repeat.status_code, refused.status_code) == (200, 401)
    for _ in range(SCRAPES):  # any web worker may answer; each must report the same totals
        samples = scrape(gateway)
        assert value(samples, "gateway_messages_received_total", carrier=CARRIER) == total
        assert value(samples, "gateway_messages_duplicate_total", carrier=CARRIER) == 1
        processed = value(
            samples, "gateway_messages_processed_total", carrier=CARRIER, outcome="wrong_syntax"
        )
        assert processed == total
        sent = value(samples, "gateway_replies_total", carrier=CARRIER, status="sent")
        assert MESSAGES <= sent <= total
        refusals = sum(
            v
            for (name, labels), v in samples.items()
            if name == "gateway_requests_refused_total" and ("reason", "bad_signature") in labels
        )
        assert refusals == 1
    metrics_dirs = list(workdir.glob("gateway-metrics-*"))
    assert len(metrics_dirs) == 1, metrics_dirs
    writers = {path.stem.rsplit("_", 1)[1] for path in metrics_dirs[0].glob("*.db")}
    assert len(writers) >= 2, writers  # the worker process and at least one web worker


def test_server_logs_are_json_with_request_ids_and_no_query_strings(
    served: tuple[Gateway, Path],
) -> None:
    gateway, _ = served
    requests.get(
        f"{gateway.url}/healthz?token=secret-in-url",
        headers={"X-Request-Id": "e2e-rid-1"},
        timeout=10,
    )

    access = _wait_for_access_line(gateway, "e2e-rid-1")
    assert '"GET /healthz" 200' in access["message"]
    assert "secret-in-url" not in gateway.logs["server"].read_text()


def _wait_for_access_line(gateway: Gateway, request_id: str) -> dict[str, str]:
    # gunicorn writes the access line after the answer has gone: wait for it, do not race it.
    deadline = time.monotonic() + LOG_DEADLINE
    while True:
        output = gateway.logs["server"].read_text()
        lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        for line in lines:
            if line["logger"] == "gunicorn.access" and line["request_id"] == request_id:
                return line
        if time.monotonic() > deadline:
            pytest.fail(f"no access line for {request_id}\n{output[-4000:]}")
        time.sleep(0.1)
