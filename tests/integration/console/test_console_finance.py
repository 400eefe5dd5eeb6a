"""Finance pages against the ledger: the same figures and files as ``gateway charges``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from html import unescape
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from billing.ledger import EntryKind, LedgerEntry
from billing.outcomes import Outcome
from gateway.console.formatting import LABELS
from gateway.models import AuditEvent
from tests.integration.console.conftest import SignIn, confirm_refunds, csrf_of, text_of
from tests.integration.finance.test_finance_cli import MONTH, Month, Run

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


def test_charges_page_totals_equal_the_cli_summary_and_export(
    client: FlaskClient, signed_in: SignIn, month: Month, run: Run
) -> None:
    signed_in("finance")

    html = client.get("/console/charges").get_data(as_text=True)  # this month by default

    _, summary_csv, _ = run("charges", "summary", *MONTH, "--csv")
    total = summary_csv.splitlines()[-1].split(",")
    assert total[:4] == ["total", "", "", ""]
    _, export_csv, _ = run("charges", "export", *MONTH)
    amounts = [int(row["amount_vnd"]) for row in csv.DictReader(io.StringIO(export_csv))]
    assert int(total[7]) == sum(amounts) == 6000
    assert text_of(html, "total-messages") == total[4] == "6"
    assert text_of(html, "total-charged") == "6.000 ₫"
    assert text_of(html, "total-net") == "6.000 ₫"
    # The page writes the CLI's day and outcome code the Vietnamese way: map the CLI's rows.
    rows = re.findall(
        r"<tr><td>(\d\d/11/2026)</td><td>(\w+)</td><td>([^<]+)</td><td>([^<]+)</td>"
        r'<td class="num">(\d+)<',
        html,
    )
    expected = []
    for line in summary_csv.splitlines()[1:-1]:
        day, carrier, service, outcome, *figures = line.split(",")
        shown = dt.date.fromisoformat(day).strftime("%d/%m/%Y")
        expected.append((shown, carrier, LABELS[service], LABELS[outcome], figures[0]))
    assert len(rows) == len(expected) == 6
    assert rows == expected
    assert all(outcome not in html for outcome in ("reset_sent", "wrong_syntax", "system_error"))


def test_charges_chart_has_a_bar_per_day_and_carrier(
    client: FlaskClient, signed_in: SignIn, month: Month
) -> None:
    signed_in("finance")

    html = client.get("/console/charges", query_string=NOVEMBER).get_data(as_text=True)

    raw = re.search(r'id="charges-chart" data-chart="([^"]+)"', html)
    assert raw
    chart = json.loads(unescape(raw[1]))
    assert len(chart["labels"]) == 30 and chart["labels"][1] == "02/11"
    data = {d["label"]: d["data"] for d in chart["datasets"]}
    assert data["viettel"][1] == 4000 and data["viettel"][2] == 1000  # Nov 2, Nov 3 (local)
    assert data["mobifone"][1] == 1000 and sum(data["mobifone"]) == 1000


def test_csv_download_is_the_cli_export_for_excel_byte_for_byte(
    client: FlaskClient, signed_in: SignIn, month: Month, run: Run, session: Session, tmp_path: Path
) -> None:
    signed_in("finance")
    cli_file = tmp_path / "cli.csv"

    answer = client.get("/console/charges.csv", query_string={**NOVEMBER, "carrier": "viettel"})

    run("charges", "export", *MONTH, "--carrier", "viettel", "--excel", "--output", str(cli_file))
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == (
        'attachment; filename="charges-2026-11-01-2026-11-30.csv"'
    )
    assert answer.get_data() == cli_file.read_bytes()
    assert answer.get_data().startswith("\ufeff".encode())
    expected = cli_file.read_text(encoding="utf-8")
    assert "8491****678" in expected and "84912345678" not in expected
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "console_action")).all()
    assert any("charges.csv" in (a.detail or "") for a in audit)


def test_xlsx_download_is_the_cli_export(
    client: FlaskClient, signed_in: SignIn, month: Month, run: Run, tmp_path: Path
) -> None:
    signed_in("finance")
    cli_file = tmp_path / "cli.xlsx"

    answer = client.get("/console/charges.xlsx", query_string=NOVEMBER)
    run("charges", "export", *MONTH, "--format", "xlsx", "--output", str(cli_file))

    ours = load_workbook(io.BytesIO(answer.get_data()))["charges"]
    theirs = load_workbook(cli_file)["charges"]  # not read-only: that keeps the file open
    rows = [[c.value for c in row] for row in ours.iter_rows()]
    assert rows == [[c.value for c in row] for row in theirs.iter_rows()]
    assert len(rows) == 7


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2026-13-01", "to": "2026-11-30"}, "Từ ngày: «2026-13-01» không phải ngày"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "Từ ngày phải trước hoặc trùng Đến ngày"),
        ({"from": "2025-01-01", "to": "2026-11-30"}, "chọn tối đa 400 ngày"),
        ({**NOVEMBER, "carrier": "vinaphone"}, "nhà mạng không rõ"),
    ],
)
@pytest.mark.parametrize("path", ["/console/charges", "/console/charges.csv", "/console/refunds"])
def test_a_bad_period_or_carrier_gets_a_clear_400(
    client: FlaskClient, signed_in: SignIn, path: str, query: dict[str, str], message: str
) -> None:
    signed_in("finance")

    answer = client.get(path, query_string=query)

    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)


def carrier_file(month: Month) -> bytes:
    served, mobifone = month[Outcome.RESET_SENT], month[Outcome.WRONG_SYNTAX]
    lines = [
        "Request_ID;User_ID;Time;Amount",
        f"{served.carrier_message_id};0912345678;02/11/2026 10:00:00;1.000",
        f"{mobifone.carrier_message_id};0912345678;02/11/2026 10:00:05;2.000",
        "vt-unknown-1;0977777777;02/11/2026 11:00:00;1.000",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def upload(client: FlaskClient, data: bytes, **extra: str) -> TestResponse:
    token = csrf_of(client.get("/console/reconciliation"))
    form = {
        "csrf_token": token,
        "carrier": "viettel",
        "col_id": "Request_ID",
        "col_phone": "User_ID",
        "col_time": "Time",
        "col_amount": "Amount",
        "file": (io.BytesIO(data), "viettel-2026-11.csv"),
        **extra,
    }
    return client.post("/console/reconciliation", data=form, content_type="multipart/form-data")


def test_reconciliation_shows_the_differences_and_changes_nothing(
    client: FlaskClient, signed_in: SignIn, month: Month, session: Session, run: Run, tmp_path: Path
) -> None:
    signed_in("finance")
    before = session.scalar(select(func.count(LedgerEntry.id)))

    answer = upload(client, carrier_file(month))
    html = answer.get_data(as_text=True)

    assert answer.status_code == 200
    assert text_of(html, "count-matched") == "1"
    assert text_of(html, "count-amount_mismatch") == "1"
    assert text_of(html, "count-missing_ours") == "1"
    assert text_of(html, "count-missing_theirs") == "2"  # our system_error and reply_failed
    assert text_of(html, "ours-total") == "4.000 ₫"
    assert text_of(html, "theirs-total") == "4.000 ₫"
    assert "0977777777" not in html and "8497****777" in html
    assert session.scalar(select(func.count(LedgerEntry.id))) == before

    assert text_of(html, "total-difference") == "0 ₫"
    assert "Chênh lệch tổng: 0 ₫, hai bên khớp" in html

    report = upload(client, carrier_file(month), download="1")
    path = tmp_path / "viettel.csv"
    path.write_bytes(carrier_file(month))
    _, printed, _ = run(
        "charges",
        "reconcile",
        "--carrier",
        "viettel",
        "--show",
        "1000",
        "--lang",
        "vi",
        "--columns",
        "id=Request_ID,phone=User_ID,time=Time,amount=Amount",
        str(path),
    )
    assert report.headers["Content-Disposition"] == (
        'attachment; filename="doi-soat-viettel-2026-11-02-2026-11-02.txt"'
    )
    assert report.get_data(as_text=True).replace("\r\n", "\n") == printed
    assert printed.startswith("Đối soát viettel, 02/11/2026 – 02/11/2026 (giờ Việt Nam)")
    assert "Chỉ bên nhà mạng (ta không có)" in printed and "matched" not in printed

    # The result page's link downloads the same report without the file sent again.
    link = re.search(r'id="download-report" href="([^"]+)"', html)
    assert link
    kept = client.get(unescape(link[1]))
    assert kept.status_code == 200
    assert kept.get_data() == report.get_data()
    assert kept.headers["Content-Disposition"] == report.headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"id,phone,time,amount\r\nA,0912345678,2026-11-02T10:00:00,1000\r\nB,09x,yesterday,1\r\n",
            "dòng 3: số điện thoại không đọc được",
        ),
        (b"Request_ID;Amount\r\n", "không tìm thấy «Cột số điện thoại», «Cột thời gian»"),
        (b"\xff\xfe\x00bad", "tệp không phải văn bản UTF-8"),
        (b"", "dòng 1: tệp trống"),
        (
            b"id;phone;time;amount\r\nA;0912345678;hom qua;1.000\r\n",
            "thời gian 'hom qua' không đọc được",
        ),
        (b"id;phone;time;amount\r\nA;0912345678;02/11/2026 10:00;1 nghin\r\n", "số tiền"),
        (
            b"id;phone;time;amount\r\n"
            b"A;0912345678;02/11/2026 10:00;1\r\nA;0912345678;02/11/2026 10:00;1\r\n",
            "trùng với dòng 2",
        ),
        (b"id;phone;time;amount\r\nA;0912345678\r\n", "cần 4 ô, có 2 ô"),
    ],
)
def test_a_bad_carrier_file_is_refused_naming_the_line(
    client: FlaskClient, signed_in: SignIn, data: bytes, message: str
) -> None:
    signed_in("finance")

    answer = upload(client, data, col_id="", col_phone="", col_time="", col_amount="")
    html = unescape(answer.get_data(as_text=True))

    assert answer.status_code == 400
    assert message in html and "không có gì được so sánh" in html


def test_refund_lists_confirms_and_appends_a_ledger_entry(
    client: FlaskClient, signed_in: SignIn, month: Month, session: Session
) -> None:
    member = signed_in("finance")
    error = month[Outcome.SYSTEM_ERROR]

    listing = client.get("/console/refunds", query_string=NOVEMBER).get_data(as_text=True)
    assert f'value="{error.message_id}"' in listing
    assert f'value="{month[Outcome.RESET_SENT].message_id}"' not in listing  # not refundable
    picked = {"message_id": [str(error.message_id)], "reason": "khiếu nại 5678"}
    confirm = confirm_refunds(client, picked)
    assert confirm.status_code == 200 and "1.000 ₫" in confirm.get_data(as_text=True)
    assert session.scalar(select(func.count()).where(LedgerEntry.kind == EntryKind.REFUND)) == 0

    unconfirmed = client.post("/console/refunds", data={"csrf_token": csrf_of(confirm), **picked})
    assert unconfirmed.status_code == 400
    assert session.scalar(select(func.count()).where(LedgerEntry.kind == EntryKind.REFUND)) == 0

    done = client.post(
        "/console/refunds", data={"csrf_token": csrf_of(confirm), **picked, "confirm": "yes"}
    )
    assert "Đã hoàn 1 tin nhắn, tổng 1.000 ₫" in done.get_data(as_text=True)
    refund = session.scalars(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.REFUND)).one()
    assert (refund.refund_of, refund.amount_vnd, refund.reason) == (
        error.id,
        1000,
        "khiếu nại 5678",
    )
    assert refund.actor == f"console:{member.email}"

    again = client.post(
        "/console/refunds", data={"csrf_token": csrf_of(confirm), **picked, "confirm": "yes"}
    )
    assert "đã được hoàn tiền trước đó" in again.get_data(as_text=True)
    assert session.scalar(select(func.count()).where(LedgerEntry.kind == EntryKind.REFUND)) == 1


def test_refund_of_a_message_without_a_charge_is_refused(
    client: FlaskClient, signed_in: SignIn, month: Month
) -> None:
    signed_in("finance")

    answer = confirm_refunds(client, {"message_id": ["424242"], "reason": "x"})

    assert answer.status_code == 400
    assert "tin 424242 không có cước trong sổ" in answer.get_data(as_text=True)


def test_a_long_refund_list_is_cut_and_says_how_to_refund_the_rest(
    client: FlaskClient, signed_in: SignIn, month: Month, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_in("finance")
    monkeypatch.setattr("gateway.console.refund_views.REFUNDS_SHOWN", 1)

    html = client.get("/console/refunds", query_string=NOVEMBER).get_data(as_text=True)

    assert html.count('name="message_id"') == 1
    assert "2 tin nhắn có thể hoàn, tổng 2.000 ₫" in html  # system_error and reply_failed
    assert "gateway charges refund" in html


def test_a_large_carrier_file_is_taken_from_a_member_only(
    client: FlaskClient, signed_in: SignIn, month: Month
) -> None:
    rows = [f"x-{i};0912345678;02/11/2026 10:00:00;1000" for i in range(2000)]
    data = "\r\n".join(["id;phone;time;amount", *rows, ""]).encode()
    assert len(data) > 64 * 1024  # past the gateway's default body limit (16 KiB)
    stranger = client.application.test_client()
    refused = stranger.post(
        "/console/reconciliation",
        data={"file": (io.BytesIO(data), "big.csv")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 413
    signed_in("finance")

    answer = upload(client, data, col_id="", col_phone="", col_time="", col_amount="")

    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert text_of(html, "count-missing_ours") == "2.000"
    assert text_of(html, "count-missing_theirs") == "4"  # every viettel charge of ours


def test_charges_split_by_keyword_service_in_a_chart_and_a_table(
    client: FlaskClient, signed_in: SignIn, month: Month, session: Session
) -> None:
    signed_in("finance")
    # As if BH QT had been configured for one of them (docs/services.md).
    answered = month[Outcome.RESET_SENT]
    session.execute(update(LedgerEntry).where(LedgerEntry.id == answered.id).values(service="qt"))

    html = client.get("/console/charges", query_string=NOVEMBER).get_data(as_text=True)

    raw = re.search(r'id="services-chart" data-chart="([^"]+)"', html)
    assert raw is not None
    chart = json.loads(unescape(raw[1]))
    assert [dataset["label"] for dataset in chart["datasets"]] == ["qt", "recovery"]
    table = html[
        html.index('id="by-service"') : html.index("</table>", html.index('id="by-service"'))
    ]
    assert "<td>qt</td>" in table and LABELS["recovery"] in table
