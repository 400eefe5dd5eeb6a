"""A person using the email channel: ask for an OTP, read the mailbox, send the code back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from gateway.delivery.mail import FakeMailer, OutboundEmail
from gateway.models import Account
from gateway.worker import Worker
from tests.harness import add_account

APP_CREDENTIAL = "vssid-app-credential-0123456789"
OTP = re.compile(r"là: (\d{6})")
PASSWORD = re.compile(r"Mật khẩu: (\w+)")


def add_account_with_email(
    session: Session,
    bhxh: str = "0123456789",
    phone: str = "0912345678",
    email: str | None = "nguyen.van.a@example.vn",
    **kwargs: Any,
) -> Account:
    """Create an account whose email came from BHXH's records (so it counts as confirmed)."""
    account = add_account(session, bhxh, phone, **kwargs)
    account.email = email
    session.commit()
    return account


@dataclass
class EmailUser:
    """Drive the recovery and account APIs as the VssID app does, and read the mailbox."""

    client: FlaskClient
    worker: Worker
    mailer: FakeMailer

    def ask(self, bhxh: str = "0123456789", email: str = "nguyen.van.a@example.vn") -> Any:
        """Ask for a recovery OTP as the app; the worker then runs."""
        response = self.client.post(
            "/api/v1/recovery/email",
            json={"bhxh": bhxh, "email": email},
            headers={"X-App-Credential": APP_CREDENTIAL},
        )
        self.worker.drain()
        return response

    def verify(self, otp: str, bhxh: str = "0123456789", new_password: str | None = None) -> Any:
        body = {"bhxh": bhxh, "otp": otp}
        if new_password is not None:
            body["new_password"] = new_password
        response = self.client.post("/api/v1/recovery/email/verify", json=body)
        self.worker.drain()
        return response

    def emails_to(self, address: str = "nguyen.van.a@example.vn") -> list[OutboundEmail]:
        return self.mailer.to(address)

    def last_otp(self, address: str = "nguyen.van.a@example.vn") -> str:
        match = OTP.search(self.emails_to(address)[-1].text)
        assert match, self.emails_to(address)[-1].text
        return match[1]
