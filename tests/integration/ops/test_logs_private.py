"""Every flow, logged at DEBUG: no phone number, insurance number, password, secret or body.

Two captures on the root logger: a bare handler first in line (records as the code wrote
them, before the masking filter rewrites them) and the gateway's JSON handler (what production
writes). Both are scanned for every secret value used.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from gateway.clock import FakeClock
from gateway.ops import logs
from tests.conftest import CARRIER_SECRETS, signed_post
from tests.harness import Phones, add_account

BHXH = "0123456789"
PHONE_FORMS = ("0912345678", "84912345678", "+84912345678", "0912 345 678", "912345678")
OTHER_PHONE = "0977000111"
NEW_PASSWORD = "mat-khau-moi-rieng-7"
OLD_PASSWORD = "old-password-1"
TEMPORARY = re.compile(r"Mat khau: ([A-Z2-9]{10})")


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    environ["GATEWAY_LIMIT_MESSAGES_PER_PHONE"] = "3"
    return environ


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """Capture the root logger at DEBUG: raw, then through the gateway's JSON handler."""
    caplog.set_level(logging.DEBUG)
    raw, masked = io.StringIO(), io.StringIO()
    bare = logging.StreamHandler(raw)
    bare.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    handlers = [bare, logs.build_handler("json", masked)]
    root = logging.getLogger()
    root.handlers[:0] = handlers
    try:
        yield raw, masked
    finally:
        for handler in handlers:
            root.removeHandler(handler)


@pytest.fixture
def json_lines(captured: tuple[io.StringIO, io.StringIO]) -> io.StringIO:
    return captured[1]


def test_no_flow_logs_personal_data_or_secrets(
    captured: tuple[io.StringIO, io.StringIO],
    client: FlaskClient,
    phones: Phones,
    session: Session,
    clock: FakeClock,
) -> None:
    add_account(session, BHXH, PHONE_FORMS[0], password=OLD_PASSWORD)
    texts = [f"BH MK {BHXH}", "BH MK 01234", "xin chao ban oi"]

    reset = phones.text(PHONE_FORMS[0], texts[0])
    temporary = TEMPORARY.search(reset[0])
    assert temporary, reset
    phones.text(PHONE_FORMS[1], texts[1])  # wrong syntax
    phones.text(OTHER_PHONE, texts[0])  # not matched
    for _ in range(3):
        phones.text(PHONE_FORMS[2], texts[2])  # the third is rate limited
    assert client.post("/api/v1/auth/login", json={"bhxh": BHXH, "password": "nope"}).status_code
    ok = client.post("/api/v1/auth/login", json={"bhxh": BHXH, "password": temporary[1]})
    token = ok.get_json()["token"]
    changed = client.post(
        "/api/v1/auth/password",
        json={"new_password": NEW_PASSWORD},
        headers={"Authorization": f"Bearer {token}"},
    )
    reference = phones.carriers["viettel"].sent[0].reference
    secret = CARRIER_SECRETS["viettel"]
    dlr = {"reference": reference, "message_id": "vt-1", "status": "delivered"}
    delivered = signed_post(client, "/carriers/viettel/dlr", dlr, secret=secret, clock=clock)
    repeat = {"id": "mo-private-1", "from": PHONE_FORMS[3], "to": "8079", "text": texts[0]}
    for _ in range(2):
        signed_post(client, "/carriers/viettel/mo", repeat, secret=secret, clock=clock)
    refused = signed_post(
        client, "/carriers/viettel/mo", repeat, secret="wrong-secret-0000000000", clock=clock
    )

    assert (ok.status_code, changed.status_code, delivered.status_code) == (200, 200, 200)
    assert refused.status_code == 401
    raw, written = (stream.getvalue() for stream in captured)
    assert raw and written, "nothing was logged: the capture is not working"
    forbidden = [
        *PHONE_FORMS,
        OTHER_PHONE,
        "84977000111",
        BHXH,
        temporary[1],
        token,
        NEW_PASSWORD,
        OLD_PASSWORD,
        *CARRIER_SECRETS.values(),
        *texts,
    ]
    for name, output in (("as written by the code", raw), ("as logged", written)):
        leaked = [value for value in forbidden if value in output]
        assert not leaked, f"{leaked} in the log {name}:\n{output}"


def test_json_lines_parse_and_carry_the_request_id(
    app: Flask, client: FlaskClient, json_lines: io.StringIO
) -> None:
    @app.get("/_test/log")
    def log_something() -> str:
        logging.getLogger("gateway.test").warning("caller %s wrote in", "84912345678")
        return "ok"

    client.get("/_test/log", headers={"X-Request-Id": "req-abc.1"})
    logging.getLogger("gateway.test").info("between requests")

    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    inside = [line for line in lines if line["message"].startswith("caller")]
    outside = [line for line in lines if line["message"] == "between requests"]
    assert [line["request_id"] for line in inside] == ["req-abc.1"]
    assert inside[0]["message"] == "caller 84*******78 wrote in"
    assert {"time", "level", "logger"} <= inside[0].keys()
    assert [line["request_id"] for line in outside] == ["-"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("from 84912345678", "from 84*******78"),
        ("from +84 912 345 678", "from 84*******78"),
        ("from 0912.345.678", "from 09******78"),
        ("id 012345678901", "id 01********01"),
        ("at 2026-11-02 03:00:00, 200 6005 39ms, outbox 12", None),
    ],
)
def test_long_digit_runs_are_masked(text: str, masked: str | None) -> None:
    assert logs.mask_digits(text) == (masked or text)


def test_a_traceback_is_masked_too() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("gateway.test.traceback")
    handler = logs.build_handler("plain", stream)
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("bad phone 0912345678")
        except ValueError:
            logger.error("failed", exc_info=True)
    finally:
        logger.removeHandler(handler)

    assert "ValueError: bad phone 09******78" in stream.getvalue()
    assert "0912345678" not in stream.getvalue()
