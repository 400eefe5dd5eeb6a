"""Adding or changing the email: prove the password, confirm by OTP, tell the old address."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.carriers.fake import FakeTransport
from gateway.models import Account
from tests.email_harness import EmailUser, add_account_with_email

OLD, NEW = "nguyen.van.a@example.vn", "van.a.moi@example.vn"


def change(user: EmailUser, body: dict[str, str]) -> Any:
    response = user.client.post("/api/v1/account/email", json={"bhxh": "0123456789", **body})
    user.worker.drain()
    return response


def confirm(user: EmailUser, otp: str) -> Any:
    response = user.client.post(
        "/api/v1/account/email/confirm", json={"bhxh": "0123456789", "otp": otp}
    )
    user.worker.drain()
    return response


def email_on_file(session: Session) -> str | None:
    return session.scalars(select(Account.email)).one()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"email": NEW}, 400),
        ({"email": NEW, "password": "wrong-password"}, 401),
    ],
    ids=["without the password", "with a wrong password"],
)
def test_changing_the_email_needs_the_current_password(
    user: EmailUser, session: Session, body: dict[str, str], status: int
) -> None:
    add_account_with_email(session, email=OLD, password="right-password")

    assert change(user, body).status_code == status
    assert user.mailer.sent == []
    assert email_on_file(session) == OLD


def test_the_new_address_counts_only_once_confirmed_and_the_old_one_is_told(
    user: EmailUser, session: Session
) -> None:
    add_account_with_email(session, email=OLD, password="right-password")

    assert change(user, {"email": NEW, "password": "right-password"}).status_code == 202
    [otp_email] = user.emails_to(NEW)
    assert otp_email.subject == "Mã xác thực địa chỉ email cho tài khoản VssID"
    # Pending: recovery still knows only the old address.
    user.ask(email=NEW)
    assert len(user.emails_to(NEW)) == 1
    assert email_on_file(session) == OLD

    assert confirm(user, user.last_otp(NEW)).get_json() == {"status": "confirmed"}

    assert email_on_file(session) == NEW
    notice = user.emails_to(OLD)[-1]
    assert notice.subject == "Địa chỉ email của tài khoản VssID đã được thay đổi"
    assert "va***@example.vn" in notice.text and NEW not in notice.text
    user.ask(email=NEW)
    assert user.emails_to(NEW)[-1].subject == "Mã xác thực cấp lại mật khẩu VssID"


def test_adding_a_first_email_tells_the_phone_and_the_new_address(
    user: EmailUser, session: Session, carriers: dict[str, FakeTransport]
) -> None:
    add_account_with_email(session, email=None, password="right-password")

    change(user, {"email": NEW, "password": "right-password"})
    otp = user.last_otp(NEW)
    confirm(user, otp)

    assert email_on_file(session) == NEW
    assert [e.recipient for e in user.mailer.sent] == [NEW, NEW]
    notice = user.mailer.sent[-1]
    assert notice.subject == "Địa chỉ email đã được gắn với tài khoản VssID"
    assert "1900 9068" in notice.text and otp not in notice.text
    assert carriers["viettel"].texts_to("84912345678") == [
        "Email nhan thong bao cua tai khoan VssID 0123456789 vua duoc thay doi. "
        "Neu khong phai ban thuc hien, goi ngay 1900 9068."
    ]


def test_a_wrong_code_changes_nothing(user: EmailUser, session: Session) -> None:
    add_account_with_email(session, email=OLD, password="right-password")
    change(user, {"email": NEW, "password": "right-password"})
    right = user.last_otp(NEW)

    refused = confirm(user, "000000" if right != "000000" else "111111")

    assert (refused.status_code, refused.get_json()["error"]) == (400, "invalid_otp")
    assert email_on_file(session) == OLD


def test_changing_the_password_tells_the_phone_and_the_email(
    user: EmailUser, session: Session, carriers: dict[str, FakeTransport]
) -> None:
    add_account_with_email(session, "0123456789", "0901234567", OLD, password="right-password")

    response = user.client.post(
        "/api/v1/auth/password",
        json={"bhxh": "0123456789", "password": "right-password", "new_password": "mat khau moi"},
    )
    user.worker.drain()

    assert response.status_code == 200
    # 090 is MobiFone's, and we have a connection to MobiFone.
    assert (
        carriers["mobifone"].texts_to("84901234567")[0].startswith("Mat khau VssID cua tai khoan")
    )
    [notice] = user.emails_to(OLD)
    assert notice.subject == "Mật khẩu tài khoản VssID đã được thay đổi"
    assert "mat khau moi" not in notice.text + (notice.html or "")


def test_a_refused_password_change_notifies_no_one(
    user: EmailUser, session: Session, carriers: dict[str, FakeTransport]
) -> None:
    add_account_with_email(session, email=OLD, password="right-password")

    user.client.post(
        "/api/v1/auth/password",
        json={"bhxh": "0123456789", "password": "wrong-password", "new_password": "mat khau moi"},
    )
    user.worker.drain()

    assert user.mailer.sent == []
    assert all(t.sent == [] for t in carriers.values())
