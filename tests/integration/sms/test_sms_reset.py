"""The SMS path as transcripts: a person texts 8079, the gateway answers."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.ledger import LedgerEntry
from billing.outcomes import Outcome
from gateway.carriers.fake import FakeTransport
from gateway.models import InboundMessage, OutboxMessage
from gateway.worker import Worker
from tests.harness import Phones, add_account

PASSWORD = re.compile(r"Mat khau: ([A-Z2-9]{10})\.")
# Each transcript runs decided in batches and decided one by one; both must end the same.
pytestmark = pytest.mark.usefixtures("sms_path")


def test_registered_phone_gets_a_new_password_that_logs_in(
    phones: Phones, session: Session, client: FlaskClient
) -> None:
    add_account(session, "0123456789", "0912 345 678")

    [reply] = phones.text("0912345678", "BH MK 0123456789")

    match = PASSWORD.search(reply)
    assert match, reply
    assert reply == (
        f"Cap lai mat khau thanh cong. Tai khoan: 0123456789/Mat khau: {match[1]}. "
        "Dung 1 lan trong 15 phut. Dang nhap VssID va doi mat khau."
    )
    login = client.post("/api/v1/auth/login", json={"bhxh": "0123456789", "password": match[1]})
    assert login.status_code == 200
    assert login.get_json()["must_change_password"] is True


def test_every_message_is_charged_once_whatever_its_outcome(
    phones: Phones, session: Session
) -> None:
    add_account(session, "0123456789", "0912345678")
    phones.text("0912345678", "BH MK 0123456789")
    phones.text("0912345678", "xin chao")
    phones.text("0987654321", "BH MK 0123456789")

    entries = session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).all()
    assert [(e.outcome, e.amount_vnd, e.phone) for e in entries] == [
        (Outcome.RESET_SENT, 1000, "84912345678"),
        (Outcome.WRONG_SYNTAX, 1000, "84912345678"),
        (Outcome.NOT_MATCHED, 1000, "84987654321"),
    ]


def test_unknown_number_and_wrong_phone_get_the_same_reply(
    phones: Phones, session: Session
) -> None:
    add_account(session, "0123456789", "0912345678")

    wrong_phone = phones.text("0987654321", "BH MK 0123456789")
    unknown_number = phones.text("0987654321", "BH MK 0999999999")

    assert wrong_phone == unknown_number
    assert wrong_phone[0].startswith("So dien thoai va ma so BHXH khong khop")


def test_the_stored_reply_loses_its_password_once_sent(phones: Phones, session: Session) -> None:
    add_account(session, "0123456789", "0912345678")
    [reply] = phones.text("0912345678", "BH MK 0123456789")
    password = PASSWORD.search(reply)[1]  # type: ignore[index]

    stored = session.scalars(select(OutboxMessage)).one()
    assert password not in stored.text
    assert "Mat khau: **********" in stored.text


def test_worker_runs_twice_without_doing_anything_twice(
    phones: Phones, session: Session, worker: Worker, carriers: dict[str, FakeTransport]
) -> None:
    add_account(session, "0123456789", "0912345678")
    phones.text("0912345678", "BH MK 0123456789")

    assert worker.drain() == 0
    assert session.scalar(select(func.count(LedgerEntry.id))) == 1
    assert len(carriers["viettel"].sent) == 1
    assert session.scalars(select(InboundMessage.outcome)).all() == [Outcome.RESET_SENT]


def test_reply_goes_back_through_the_carrier_that_delivered(
    phones: Phones, session: Session, carriers: dict[str, FakeTransport]
) -> None:
    # Number portability: a Viettel-prefix number may be a MobiFone subscriber now.
    add_account(session, "0123456789", "0987654321")
    phones.text("0987654321", "BH MK 0123456789", carrier="mobifone")

    assert carriers["viettel"].sent == []
    [sms] = carriers["mobifone"].sent
    assert (sms.recipient, sms.sender) == ("84987654321", "8079")


def test_the_twelve_digit_personal_id_works_like_the_number(
    phones: Phones, session: Session
) -> None:
    add_account(session, "0123456789", "0912345678", personal_id="001099012345")

    [reply] = phones.text("0912345678", "bh mk 001 099 012 345")

    assert "Tai khoan: 001099012345/Mat khau: " in reply


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("BH MK", "Thieu ma so."),
        ("BH MK 01234567", "Ma so khong dung do dai."),
        ("BH MK 01234S6789", "Ma so chi gom chu so"),
        ("MK BH 0123456789", "Sai cu phap."),
        ("", "Sai cu phap."),
    ],
)
def test_wrong_syntax_gets_the_right_syntax_and_the_hotline(
    phones: Phones, session: Session, text: str, start: str
) -> None:
    [reply] = phones.text("0912345678", text)

    assert reply.startswith(start)
    assert "BH MK <" in reply
    assert "gui 8079" in reply
    assert reply.endswith("Ho tro: 1900 9068")
    assert session.scalar(select(InboundMessage.outcome)) is Outcome.WRONG_SYNTAX


def test_typed_the_way_people_type(phones: Phones, session: Session) -> None:
    add_account(session, "0123456789", "0912345678")

    [reply] = phones.text("+84912345678", "  Soạn  bh.mk: 0123.456.789 gửi 8079\n")

    assert reply.startswith("Cap lai mat khau thanh cong.")


def test_pending_account_is_not_matched(phones: Phones, session: Session) -> None:
    from gateway.models import AccountState

    add_account(session, "0123456789", "0912345678", state=AccountState.PENDING)

    [reply] = phones.text("0912345678", "BH MK 0123456789")

    assert reply.startswith("So dien thoai va ma so BHXH khong khop")


def test_a_near_miss_is_charged_as_wrong_syntax_and_shows_the_message_to_send(
    phones: Phones, session: Session
) -> None:
    # The carrier charged the sender for it, as for any wrong syntax: the ledger says so, and
    # no password is issued, whoever's number it is.
    add_account(session, "0123456789", "0912345678")

    [reply] = phones.text("0912345678", "BH MKK 0123456789")
    [alias_reply] = phones.text("0912345678", "BH MẬT KHẨU 0123456789")

    assert reply == "Sai cu phap. Ban co the soan: BH MK 0123456789 gui 8079. Ho tro: 1900 9068"
    assert alias_reply.startswith("Cap lai mat khau thanh cong. Tai khoan: 0123456789/")
    entries = session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).all()
    assert [(e.outcome, e.amount_vnd) for e in entries] == [
        (Outcome.WRONG_SYNTAX, 1000),
        (Outcome.RESET_SENT, 1000),
    ]
