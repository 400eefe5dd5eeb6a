"""The refunds page: select all in a filter, refusals that keep the form, a forced refund."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.ledger import EntryKind, LedgerEntry
from billing.outcomes import Outcome
from gateway.models import AuditEvent
from tests.integration.console.conftest import SignIn, confirm_refunds, csrf_of, post_form
from tests.integration.finance.test_finance_cli import Month

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
LIST = "/console/refunds?from=2026-11-01&to=2026-11-30"


def refunds(session: Session) -> list[LedgerEntry]:
    return list(
        session.scalars(
            select(LedgerEntry).where(LedgerEntry.kind == EntryKind.REFUND).order_by(LedgerEntry.id)
        )
    )


def ticked(html: str) -> set[str]:
    return set(re.findall(r'name="message_id" value="(\d+)"[^>]*checked', html))


def test_select_all_in_the_filter_refunds_every_refundable_charge_without_javascript(
    client: FlaskClient, signed_in: SignIn, month: Month, session: Session
) -> None:
    signed_in("finance")
    error, failed = month[Outcome.SYSTEM_ERROR], month["reply_failed"]

    confirm = confirm_refunds(
        client, {**NOVEMBER, "carrier": "", "scope": "all", "reason": "sự cố ngày 2/11"}, page=LIST
    )

    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert re.search(r'id="confirm-count">2<', html) and "2.000 ₫" in html
    ids = sorted(re.findall(r'type="hidden" name="message_id" value="(\d+)"', html))
    assert ids == sorted([str(error.message_id), str(failed.message_id)])
    assert refunds(session) == []
    done = client.post(
        "/console/refunds",
        data={
            "csrf_token": csrf_of(confirm),
            **NOVEMBER,
            "message_id": ids,
            "reason": "sự cố ngày 2/11",
            "confirm": "yes",
        },
    )
    assert "Đã hoàn 2 tin nhắn, tổng 2.000 ₫" in done.get_data(as_text=True)
    assert {r.message_id for r in refunds(session)} == {error.message_id, failed.message_id}


def test_select_all_on_a_carrier_takes_only_that_carriers_charges(
    client: FlaskClient, signed_in: SignIn, month: Month
) -> None:
    signed_in("finance")

    answer = confirm_refunds(
        client, {**NOVEMBER, "carrier": "mobifone", "scope": "all", "reason": "x"}, page=LIST
    )

    assert answer.status_code == 400  # nothing of mobifone's is refundable
    assert "không còn tin nhắn nào cần hoàn trong bộ lọc này" in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"reason": ""}, "ghi lý do hoàn tiền"),
        ({"reason": "   "}, "ghi lý do hoàn tiền"),
        ({"reason": "x", "extra": "424242"}, "tin 424242 không có cước trong sổ"),
        ({"reason": "x", "bad": "abc"}, "mã tin nhắn không hợp lệ"),
    ],
)
def test_a_refused_confirmation_keeps_the_ticked_rows_and_the_reason(
    client: FlaskClient,
    signed_in: SignIn,
    month: Month,
    session: Session,
    form: dict[str, str],
    message: str,
) -> None:
    signed_in("finance")
    error, failed = month[Outcome.SYSTEM_ERROR], month["reply_failed"]
    picked = [str(error.message_id)]
    picked += [form[k] for k in ("extra", "bad") if k in form]

    answer = confirm_refunds(
        client, {**NOVEMBER, "message_id": picked, "reason": form["reason"]}, page=LIST
    )

    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert message in html and 'id="refund-error"' in html
    assert ticked(html) == {str(error.message_id)}  # still ticked; the other is not
    assert f'value="{failed.message_id}"' in html
    if form["reason"].strip():
        assert f'value="{form["reason"]}"' in html
    assert refunds(session) == []


def test_an_unconfirmed_refund_goes_back_to_the_list_with_the_rows_ticked(
    client: FlaskClient, signed_in: SignIn, month: Month, session: Session
) -> None:
    signed_in("finance")
    error = month[Outcome.SYSTEM_ERROR]

    answer = post_form(
        client,
        "/console/refunds",
        {**NOVEMBER, "message_id": [str(error.message_id)], "reason": "khiếu nại 1"},
        page=LIST,
    )

    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "đánh dấu ô xác nhận để hoàn tiền" in html
    assert ticked(html) == {str(error.message_id)} and 'value="khiếu nại 1"' in html
    assert refunds(session) == []


def test_a_refund_that_is_not_refundable_by_policy_is_refused_on_the_list(
    client: FlaskClient, signed_in: SignIn, month: Month, session: Session
) -> None:
    signed_in("finance")
    served = month[Outcome.RESET_SENT]  # a hand-made form: the list never offers it

    done = post_form(
        client,
        "/console/refunds",
        {**NOVEMBER, "message_id": [str(served.message_id)], "reason": "x", "confirm": "yes"},
        page=LIST,
    )

    assert "không được hoàn theo chính sách" in done.get_data(as_text=True)
    assert refunds(session) == []


def test_a_forced_refund_for_a_complaint_confirms_then_refunds_and_is_audited(
    client: FlaskClient, signed_in: SignIn, month: Month, session: Session
) -> None:
    member = signed_in("finance")
    served = month[Outcome.RESET_SENT]
    ask = {**NOVEMBER, "forced_message_id": str(served.message_id), "forced_reason": "KN 5678"}

    confirm = post_form(client, "/console/refunds/forced/confirm", ask, page=LIST)

    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "Theo chính sách, tin này <strong>không</strong> được hoàn" in html
    assert re.search(r'id="forced-amount">1.000 ₫<', html)
    assert refunds(session) == []
    unconfirmed = client.post(
        "/console/refunds/forced", data={"csrf_token": csrf_of(confirm), **ask}
    )
    assert unconfirmed.status_code == 400
    assert "đánh dấu ô xác nhận" in unconfirmed.get_data(as_text=True)
    assert 'value="KN 5678"' in unconfirmed.get_data(as_text=True)  # the form is kept
    assert refunds(session) == []

    done = client.post(
        "/console/refunds/forced",
        data={"csrf_token": csrf_of(confirm), **ask, "confirm": "yes"},
    )

    assert "Đã hoàn 1 tin nhắn, tổng 1.000 ₫ (ngoài chính sách" in done.get_data(as_text=True)
    (refund,) = refunds(session)
    assert (refund.message_id, refund.reason, refund.actor) == (
        served.message_id,
        "KN 5678",
        f"console:{member.email}",
    )
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "refund")).all()
    assert [a.detail for a in audit] == [
        f"ip=127.0.0.1 forced refund message={served.message_id} 1000 VND"
    ]
    again = client.post(
        "/console/refunds/forced",
        data={"csrf_token": csrf_of(confirm), **ask, "confirm": "yes"},
    )
    assert again.status_code == 400
    assert "đã được hoàn tiền trước đó" in again.get_data(as_text=True)
    assert len(refunds(session)) == 1


def test_a_forced_refund_by_the_carriers_id(
    client: FlaskClient, signed_in: SignIn, month: Month
) -> None:
    signed_in("finance")
    served = month[Outcome.RESET_SENT]
    ask = {
        **NOVEMBER,
        "forced_carrier": "viettel",
        "forced_carrier_message_id": served.carrier_message_id,
        "forced_reason": "KN 9",
    }

    confirm = post_form(client, "/console/refunds/forced/confirm", ask, page=LIST)

    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert f'name="forced_message_id" value="{served.message_id}"' in html


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"forced_message_id": "1", "forced_reason": ""}, "cần lý do"),
        ({"forced_message_id": "1", "forced_reason": "  "}, "cần lý do"),
        ({"forced_message_id": "12a", "forced_reason": "x"}, "mã tin: nhập một số nguyên dương"),
        ({"forced_reason": "x"}, "nhập mã tin, hoặc nhà mạng và mã tin của nhà mạng"),
        ({"forced_carrier": "viettel", "forced_reason": "x"}, "nhập mã tin, hoặc nhà mạng"),
        ({"forced_message_id": "424242", "forced_reason": "x"}, "tin 424242 không có cước"),
        (
            {
                "forced_carrier": "viettel",
                "forced_carrier_message_id": "nope",
                "forced_reason": "x",
            },
            "không có cước trong sổ",
        ),
    ],
)
@pytest.mark.parametrize("path", ["/console/refunds/forced/confirm", "/console/refunds/forced"])
def test_a_bad_forced_refund_is_refused_in_vietnamese_and_changes_nothing(
    client: FlaskClient,
    signed_in: SignIn,
    month: Month,
    session: Session,
    path: str,
    form: dict[str, str],
    message: str,
) -> None:
    signed_in("finance")

    answer = post_form(client, path, {**NOVEMBER, **form, "confirm": "yes"}, page=LIST)

    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert message in html and 'id="forced-error"' in html
    assert refunds(session) == []
    assert session.scalar(select(func.count()).where(AuditEvent.action == "refund")) == 0


def test_other_roles_cannot_refund(
    client: FlaskClient, signed_in: SignIn, month: Month, session: Session
) -> None:
    signed_in("support")
    served = month[Outcome.RESET_SENT]
    token = csrf_of(client.get("/console/messages"))

    answer = client.post(
        "/console/refunds/forced",
        data={
            "csrf_token": token,
            "forced_message_id": str(served.message_id),
            "forced_reason": "x",
            "confirm": "yes",
        },
    )

    assert answer.status_code == 403
    assert refunds(session) == []


def test_the_list_offers_select_all_as_a_button_and_the_toggle_as_a_script_file(
    client: FlaskClient, signed_in: SignIn, month: Month
) -> None:
    signed_in("finance")

    html = client.get(LIST).get_data(as_text=True)

    assert 'name="scope" value="all"' in html and "Chọn tất cả 2 tin" in html
    assert '<script src="/console/static/refunds.js"></script>' in html
    assert "<script>" not in html and " onclick" not in html  # nothing inline (CSP)
    with client.get("/console/static/refunds.js") as script:
        assert script.status_code == 200 and b"pick-all" in script.get_data()
