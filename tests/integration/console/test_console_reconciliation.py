"""Reconciliation: labelled column fields, the carrier's own headers, the kept report."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from billing.ledger import LedgerEntry
from billing.outcomes import Outcome
from gateway.clock import FakeClock
from gateway.console import report_store
from tests.integration.console.conftest import Member, SignIn, csrf_of, sign_in
from tests.integration.finance.test_finance_cli import Month


def send(client: FlaskClient, data: bytes, **fields: str) -> TestResponse:
    token = csrf_of(client.get("/console/reconciliation"))
    form = {"csrf_token": token, "carrier": "viettel", **fields}
    form["file"] = (io.BytesIO(data), "viettel.csv")  # type: ignore[assignment]
    return client.post("/console/reconciliation", data=form, content_type="multipart/form-data")


def lines(month: Month, header: str, sep: str = ";") -> bytes:
    served = month[Outcome.RESET_SENT]
    rows = [
        header,
        sep.join([served.carrier_message_id, "0912345678", "02/11/2026 10:00:00", "1.000"]),
    ]
    return ("\r\n".join(rows) + "\r\n").encode()


def count(html: str, kind: str) -> str:
    found = re.search(rf'id="count-{kind}">([^<]*)<', html)
    assert found, html[:3000]
    return found[1]


@pytest.mark.parametrize(
    "header",
    [
        "Request_ID;User_ID;Time;Amount",
        "REQUEST_ID;MSISDN;Thoi_gian;So_tien",
        "Mã tin;Số thuê bao;Thời gian;Số tiền",
        "id;phone;time;amount",
    ],
)
def test_the_carriers_own_headers_are_recognised_without_a_mapping(
    client: FlaskClient, signed_in: SignIn, month: Month, header: str
) -> None:
    signed_in("finance")

    answer = send(client, lines(month, header))

    html = answer.get_data(as_text=True)
    assert answer.status_code == 200, unescape(html)[-3000:]
    assert count(html, "matched") == "1"
    assert count(html, "missing_theirs") == "3"  # our other viettel charges


def test_a_field_given_wins_over_the_guess(
    client: FlaskClient, signed_in: SignIn, month: Month
) -> None:
    signed_in("finance")
    data = lines(month, "Request_ID,Msisdn,Billed_At,Gia", sep=",")

    answer = send(client, data, col_time="billed_at", col_amount="GIA")

    html = answer.get_data(as_text=True)
    assert answer.status_code == 200, unescape(html)[-2000:]
    assert count(html, "matched") == "1"
    assert "id=Request_ID,phone=Msisdn,time=billed_at,amount=GIA" in html


def test_a_header_with_unknown_names_is_refused_naming_the_fields_and_keeping_the_form(
    client: FlaskClient, signed_in: SignIn, month: Month, session: Session
) -> None:
    signed_in("finance")
    data = lines(month, "Ma;So;Luc;Gia")

    answer = send(client, data, col_id="Ma")

    html = unescape(answer.get_data(as_text=True))
    assert answer.status_code == 400
    assert "không tìm thấy «Cột số điện thoại», «Cột thời gian», «Cột số tiền»" in html
    assert "(tiêu đề có: Ma, So, Luc, Gia)" in html
    assert 'name="col_id" value="Ma"' in html
    shown = re.sub(r"<[^>]+>", " ", html)
    assert "missing" not in shown and "column" not in shown


def test_a_named_column_that_is_not_in_the_file_is_refused_in_vietnamese(
    client: FlaskClient, signed_in: SignIn, month: Month
) -> None:
    signed_in("finance")

    answer = send(client, lines(month, "Request_ID;User_ID;Time;Amount"), col_amount="Cuoc_phi")

    html = unescape(answer.get_data(as_text=True))
    assert answer.status_code == 400
    assert "dòng 1: không có cột Cuoc_phi (cho amount)" in html


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"from": "2026-11-01"}, "nhập cả Từ ngày và Đến ngày"),
        ({"from": "31/02/2026", "to": "2026-11-30"}, "Từ ngày: nhập ngày dạng dd/mm/yyyy"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "Từ ngày phải trước hoặc trùng Đến ngày"),
        ({"carrier": "vinaphone"}, "chọn nhà mạng của tệp"),
    ],
)
def test_bad_days_or_carrier_are_refused_in_vietnamese(
    client: FlaskClient, signed_in: SignIn, month: Month, fields: dict[str, str], message: str
) -> None:
    signed_in("finance")

    answer = send(client, lines(month, "id;phone;time;amount"), **fields)

    assert answer.status_code == 400
    assert message in unescape(answer.get_data(as_text=True))


def test_an_explicit_period_is_named_in_full_in_the_file_name(
    client: FlaskClient, signed_in: SignIn, month: Month
) -> None:
    signed_in("finance")

    answer = send(
        client,
        lines(month, "id;phone;time;amount"),
        download="1",
        **{"from": "01/11/2026", "to": "30/11/2026"},
    )

    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == (
        'attachment; filename="doi-soat-viettel-2026-11-01-2026-11-30.txt"'
    )
    text = answer.get_data(as_text=True)
    assert text.startswith("Đối soát viettel, 01/11/2026 – 30/11/2026")
    assert re.search(r"Chênh lệch tổng +\+4\.000 ₫   ta tính nhiều hơn viettel 4\.000 ₫", text)


def test_the_kept_report_is_for_this_session_only_and_expires(
    client: FlaskClient,
    signed_in: SignIn,
    enrolled: Callable[..., Member],
    month: Month,
    clock: FakeClock,
    session: Session,
) -> None:
    member = signed_in("finance")
    before = session.scalar(select(func.count(LedgerEntry.id)))
    html = send(client, lines(month, "id;phone;time;amount")).get_data(as_text=True)
    link = unescape(re.search(r'id="download-report" href="([^"]+)"', html)[1])  # type: ignore[index]
    assert client.get(link).status_code == 200
    assert client.get(link.replace(link[-4:], "AAAA")).status_code == 404
    assert client.get("/console/reconciliation/report/..%2F..%2Fetc").status_code == 404

    other = client.application.test_client()
    colleague = enrolled("finance", "ketoan2@example.vn")
    assert sign_in(other, colleague).status_code == 302
    refused = other.get(link)
    assert refused.status_code == 404
    assert "hết hạn" in refused.get_data(as_text=True)

    assert sign_in(client, member).status_code == 302  # a new session of the same member
    assert client.get(link).status_code == 404
    assert session.scalar(select(func.count(LedgerEntry.id))) == before


def test_a_report_past_its_time_is_gone(
    client: FlaskClient, signed_in: SignIn, month: Month, clock: FakeClock
) -> None:
    signed_in("finance")
    html = send(client, lines(month, "id;phone;time;amount")).get_data(as_text=True)
    link = unescape(re.search(r'id="download-report" href="([^"]+)"', html)[1])  # type: ignore[index]

    clock.advance(seconds=report_store.KEPT_FOR.total_seconds() + 1)
    client.get("/console/charges")  # the session stays alive (idle timeout) for the check below

    assert client.get(link).status_code in (302, 404)  # expired (or the session itself ended)
