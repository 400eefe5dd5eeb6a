"""Each class of input that once produced a 500, replayed: now a 4xx in the caller's shape."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from gateway.carriers.signing import signed_headers
from gateway.clock import FakeClock
from tests.conftest import CARRIER_SECRETS
from tests.fuzz.conftest import FINANCE_TOKEN, TOKENS, Records
from tests.fuzz.test_hostile_input import row_counts

KANNEL_MO = "/carriers/kannel/mo?token=" + TOKENS["kannel"] + "&from=84912345678&to=8079&id=k1"
JSON_HEADERS = {"Content-Type": "application/json"}


def raw_json(**values: str) -> bytes:
    # json.dumps escapes a lone surrogate as \udc5c, exactly as a hostile client sends it.
    return json.dumps(values).encode()


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        ("/api/v1/auth/login", raw_json(bhxh="0123456789", password="\udc5c"), "password holds"),
        (
            "/api/v1/auth/password",
            raw_json(bhxh="0123456789", password="a", new_password="\udc5cxxxxxxxx"),
            "new_password holds",
        ),
        (
            "/api/v1/recovery/email",
            raw_json(bhxh="0123456789", email="a@b.vn", captcha_id="x", captcha_answer="\udc5c"),
            "captcha_answer holds",
        ),
        ("/api/v1/auth/login", b'{"a":' * 2000 + b"1" + b"}" * 2000, "deeper than 16"),
        ("/api/v1/auth/login", b"[" * 8000, "deeper than 16"),
        (
            "/api/v1/account/email",
            raw_json(bhxh="²²²²²²²²²²", password="x", email="a@b.vn"),
            "bhxh",
        ),
        (
            "/api/v1/recovery/email",
            raw_json(bhxh="0123456789", email="nguyễn@ví-dụ.vn"),
            "email is not a valid email address",
        ),
        (
            "/api/v1/recovery/email",
            raw_json(bhxh="0123456789", email="a..b@example.vn"),
            "email is not a valid email address",
        ),
    ],
)
def test_api_refuses_with_400_and_stores_nothing(
    fuzz_app: Flask, log_records: Records, path: str, body: bytes, reason: str
) -> None:
    before = row_counts(fuzz_app)
    log_records.records.clear()

    response = fuzz_app.test_client().post(path, data=body, headers=JSON_HEADERS)

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_payload"
    assert reason in response.get_json()["reason"]
    assert row_counts(fuzz_app) == before
    assert [r for r in log_records.records if r.exc_info] == []


@pytest.mark.parametrize(
    ("query", "body", "answer"),
    [
        ("&ts=%C2%B2", b"BH MK 0123456789", b"invalid_payload"),  # ts='²'
        ("&ts=99999999999", b"BH MK 0123456789", b"invalid_payload"),  # year 5138
        ("", b"BH MK \x000123456789", b"invalid_payload"),
        ("", b"BH MK \xed\xb1\x9c", b"invalid_payload"),  # a surrogate encoded in UTF-8
    ],
)
def test_kannel_refuses_in_its_shape(
    fuzz_app: Flask, query: str, body: bytes, answer: bytes
) -> None:
    before = row_counts(fuzz_app)

    response = fuzz_app.test_client().post(
        KANNEL_MO + query, data=body, headers={"Content-Type": "text/plain"}
    )

    assert (response.status_code, response.data) == (400, answer)
    assert row_counts(fuzz_app) == before


@pytest.mark.parametrize(
    "query",
    ["status=%C2%B2&reference=1", "status=1&reference=%C2%B2", "status=1&reference=" + "9" * 30],
)
def test_kannel_dlr_with_foreign_digits_is_refused(fuzz_app: Flask, query: str) -> None:
    path = f"/carriers/kannel/dlr?token={TOKENS['kannel']}&{query}"

    response = fuzz_app.test_client().get(path)

    assert response.status_code in (400, 404)


def test_jasmin_coding_in_another_script_is_refused(fuzz_app: Flask) -> None:
    form = "id=j1&from=84912345678&to=8079&content=BH+MK&coding=%D9%A3"  # coding='٣'

    response = fuzz_app.test_client().post(
        f"/carriers/jasmin/mo?token={TOKENS['jasmin']}",
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 400
    assert response.data.startswith(b'Error "invalid_payload')  # Jasmin logs the reason


def test_a_signature_timestamp_in_superscript_digits_is_401(
    fuzz_app: Flask, fuzz_clock: FakeClock
) -> None:
    headers = {**JSON_HEADERS, "X-Gateway-Timestamp": "¹²³", "X-Gateway-Signature": "v1=00"}

    response = fuzz_app.test_client().post("/carriers/viettel/mo", data=b"{}", headers=headers)

    assert response.status_code == 401


@pytest.mark.parametrize(
    "received_at", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00", "\udc5c"]
)
def test_json_carrier_refuses_moments_out_of_range(
    fuzz_app: Flask, fuzz_clock: FakeClock, received_at: str
) -> None:
    body = raw_json(id="m1", to="8079", text="BH MK 0123456789", received_at=received_at)
    body = body.replace(b"}", b', "from": "84912345678"}')
    headers = {**JSON_HEADERS, **signed_headers(CARRIER_SECRETS["viettel"], body, fuzz_clock.now())}

    response = fuzz_app.test_client().post("/carriers/viettel/mo", data=body, headers=headers)

    assert response.status_code == 400
    assert "received_at" in response.get_json()["reason"]


@pytest.mark.parametrize(
    "query", ["from=2026-11-01&to=9999-12-31", "from=0001-01-01&to=2026-11-01"]
)
def test_finance_refuses_days_at_the_ends_of_time(fuzz_app: Flask, query: str) -> None:
    response = fuzz_app.test_client().get(
        f"/api/v1/finance/charges.csv?{query}",
        headers={"Authorization": f"Bearer {FINANCE_TOKEN}"},
    )

    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.get_json()["reason"]
