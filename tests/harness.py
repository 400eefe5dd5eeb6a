"""A scripted phone: text the gateway as a person would and read what comes back.

84912345678 > BH MK 0123456789
84912345678 < Cap lai mat khau thanh cong. Tai khoan: 0123456789/Mat khau: ...
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.accounts.passwords import hash_password
from gateway.carriers.fake import FakeTransport
from gateway.clock import FakeClock
from gateway.models import Account, AccountState, InboundMessage
from gateway.worker import Worker
from parsers import normalise_phone
from tests.conftest import CARRIER_SECRETS, signed_post

_ids = itertools.count(1)


@dataclass
class Phones:
    """Send texts through the webhook, run the worker, collect each phone's replies."""

    client: FlaskClient
    worker: Worker
    carriers: dict[str, FakeTransport]
    clock: FakeClock
    seen: dict[str, int] = field(default_factory=dict)

    def text(
        self, phone: str, text: str, *, carrier: str = "viettel", to: str = "8079"
    ) -> list[str]:
        """Text the shortcode from ``phone``; return the replies that phone got for it."""
        message_id = f"mo-{next(_ids)}"
        response = signed_post(
            self.client,
            f"/carriers/{carrier}/mo",
            {"id": message_id, "from": phone, "to": to, "text": text},
            secret=CARRIER_SECRETS[carrier],
            clock=self.clock,
        )
        assert response.status_code == 200, response.get_json()
        self.worker.drain()
        return self.replies(phone)

    def replies(self, phone: str) -> list[str]:
        """Return the replies to ``phone`` not yet returned, across every carrier."""
        number = normalise_phone(phone)
        texts = [
            sms.text
            for transport in self.carriers.values()
            for sms in transport.sent
            if sms.recipient == number
        ]
        new = texts[self.seen.get(number, 0) :]
        self.seen[number] = len(texts)
        return new


def add_account(
    session: Session,
    bhxh: str = "0123456789",
    phone: str = "0912345678",
    *,
    password: str | None = "old-password-1",
    state: AccountState = AccountState.ACTIVE,
    personal_id: str | None = None,
    now: dt.datetime | None = None,
) -> Account:
    """Create an account the way an import would, with an optional chosen password."""
    now = now or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    account = Account(
        bhxh=bhxh,
        personal_id=personal_id,
        phone=normalise_phone(phone),
        state=state,
        approved_at=now,
        password_hash=hash_password(password) if password else None,
        must_change_password=False,
        temp_password_logged_in=False,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    session.commit()
    return account


def url_token_carrier(
    env: dict[str, str], name: str, token: str, mt_url: str, **extra: str
) -> dict[str, str]:
    """Add a carrier of kind ``name`` (kannel, jasmin, vnmo) that calls from loopback only."""
    prefix = f"CARRIER_{name.upper()}_"
    env["GATEWAY_CARRIERS"] += f",{name}"
    env.update(
        {
            prefix + "KIND": name,
            prefix + "ALLOW_IPS": "127.0.0.1/32",
            prefix + "SECRET": token,
            prefix + "MT_URL": mt_url,
            **{prefix + key.upper(): value for key, value in extra.items()},
        }
    )
    return env


def fake_transports(*extra: str) -> dict[str, FakeTransport]:
    """A recording transport for each of the test carriers and the ``extra`` ones."""
    return {name: FakeTransport() for name in [*CARRIER_SECRETS, *extra]}


def stored_messages(session: Session) -> int:
    """How many inbound messages the gateway has stored."""
    return session.scalar(select(func.count(InboundMessage.id))) or 0
