"""Replies go out concurrently per carrier, never wider than the carrier's lane, at its rate."""

from __future__ import annotations

import threading
import time

import pytest

from gateway.carriers.base import SendReceipt
from gateway.delivery.sending import RateLimit, ReplySender
from gateway.errors import ConfigError, PermanentSendError, RetryableSendError
from gateway.settings import EMAIL_CARRIER, Settings, load_settings


def settings(**per_carrier: str) -> Settings:
    environ = {"GATEWAY_SECRET_KEY": "k" * 32, "GATEWAY_CARRIERS": "fast,slow"}
    for name in ("fast", "slow"):
        environ[f"CARRIER_{name.upper()}_SECRET"] = "s" * 20
        environ[f"CARRIER_{name.upper()}_MT_URL"] = f"http://127.0.0.1:9/{name}"
    environ.update(per_carrier)
    return load_settings(environ)


class Lanes:
    """Counts how many sends run at once in each lane; each send takes ``pause`` seconds."""

    def __init__(self, pause: float = 0.02) -> None:
        self.pause = pause
        self.running: dict[str, int] = {}
        self.widest: dict[str, int] = {}
        self.order: list[str] = []
        self._lock = threading.Lock()

    def send(self, item: tuple[str, int]) -> SendReceipt | None:
        lane, number = item
        with self._lock:
            self.running[lane] = self.running.get(lane, 0) + 1
            self.widest[lane] = max(self.widest.get(lane, 0), self.running[lane])
        time.sleep(self.pause)
        with self._lock:
            self.running[lane] -= 1
            self.order.append(lane)
        if number % 5 == 1:
            raise RetryableSendError("carrier answered 503")
        if number % 5 == 2:
            raise PermanentSendError("carrier answered 400")
        if number % 5 == 3:
            return None  # lease lost: nothing to record
        return SendReceipt(f"{lane}-{number}")


def run(sender: ReplySender, items: list[tuple[str, int]], lanes: Lanes) -> list:
    groups = list(sender.send_all(items, lambda item: item[0], lanes.send))
    return [result for group in groups for result in group]


def test_each_lane_runs_concurrently_up_to_its_width() -> None:
    sender = ReplySender(
        settings(CARRIER_FAST_MAX_CONNECTIONS="4", CARRIER_SLOW_MAX_CONNECTIONS="2")
    )
    items = [("fast", n) for n in range(20)] + [("slow", n) for n in range(10)]
    items += [(EMAIL_CARRIER, n) for n in range(3)]
    lanes = Lanes()

    results = run(sender, items, lanes)

    assert lanes.widest == {"fast": 4, "slow": 2, EMAIL_CARRIER: 1}
    assert sorted(r.item for r in results) == sorted(items)  # every item, exactly once


def test_every_outcome_comes_back_with_its_item() -> None:
    lanes = Lanes(pause=0)

    results = {
        r.item: r for r in run(ReplySender(settings()), [("fast", n) for n in range(5)], lanes)
    }

    assert results[("fast", 0)].receipt == SendReceipt("fast-0")
    assert isinstance(results[("fast", 1)].error, RetryableSendError)
    assert isinstance(results[("fast", 2)].error, PermanentSendError)
    assert (results[("fast", 3)].receipt, results[("fast", 3)].error) == (None, None)


def test_a_broken_send_records_nothing_for_its_item_and_spares_the_rest() -> None:
    def send(item: tuple[str, int]) -> SendReceipt | None:
        if item[1] == 2:
            raise RuntimeError("adapter bug")
        return SendReceipt(str(item[1]))

    items = [("fast", n) for n in range(4)]
    groups = ReplySender(settings()).send_all(items, lambda item: item[0], send)
    results = {r.item: r for group in groups for r in group}

    assert (results[("fast", 2)].receipt, results[("fast", 2)].error) == (None, None)
    assert [results[("fast", n)].receipt for n in (0, 1, 3)] == [
        SendReceipt("0"),
        SendReceipt("1"),
        SendReceipt("3"),
    ]


def test_a_slow_lane_does_not_hold_up_a_fast_one() -> None:
    lanes = Lanes(pause=0.01)
    slow_lanes = Lanes(pause=0.3)

    def send(item: tuple[str, int]) -> SendReceipt | None:
        return (slow_lanes if item[0] == "slow" else lanes).send(item)

    items = [("slow", 0), *[("fast", n) for n in range(0, 40, 5)]]
    first_group = next(iter(ReplySender(settings()).send_all(items, lambda i: i[0], send)))

    assert {r.item[0] for r in first_group} == {"fast"}


def test_rate_limit_spaces_the_starts() -> None:
    now = [100.0]
    limit = RateLimit(4, clock=lambda: now[0])

    delays = [limit.delay() for _ in range(5)]

    assert delays == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    now[0] += 10  # idle for a while: no burst credit builds up beyond the next slot
    assert limit.delay() == 0
    assert limit.delay() == pytest.approx(0.25)


def test_no_rate_limit_never_waits() -> None:
    limit = RateLimit(0)

    assert [limit.delay() for _ in range(100)] == [0] * 100


def test_a_rate_limited_lane_keeps_to_its_rate() -> None:
    sender = ReplySender(settings(CARRIER_FAST_MAX_PER_SECOND="50"))
    items = [("fast", n) for n in range(0, 50, 5)]  # ten sends, all successes
    lanes = Lanes(pause=0)

    started = time.monotonic()
    run(sender, items, lanes)

    assert time.monotonic() - started >= 9 / 50 * 0.9


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("CARRIER_FAST_MAX_CONNECTIONS", "0"),
        ("CARRIER_FAST_MAX_CONNECTIONS", "65"),
        ("CARRIER_FAST_MAX_CONNECTIONS", "eight"),
        ("CARRIER_FAST_MAX_PER_SECOND", "-1"),
        ("CARRIER_FAST_MAX_PER_SECOND", "nan"),
        ("CARRIER_FAST_MAX_PER_SECOND", "inf"),
    ],
)
def test_bad_lane_settings_name_their_variable(variable: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        settings(**{variable: raw})


def test_lane_settings_default_to_eight_connections_and_no_rate_limit() -> None:
    carrier = settings().carriers["fast"]

    assert (carrier.max_connections, carrier.max_per_second) == (8, 0)
