"""8179 was redirected to 8079 on 1 Aug 2019: a carrier may still deliver a message to 8179."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.ledger import LedgerEntry
from billing.outcomes import Outcome
from gateway.carriers.fake import FakeTransport
from gateway.clock import FakeClock
from gateway.models import InboundMessage
from gateway.settings import load_settings
from tests.conftest import CARRIER_SECRETS, signed_post
from tests.harness import Phones, add_account

PHONE = "0912345678"


@pytest.mark.usefixtures("sms_path")  # the fallback decides it the same
def test_a_reset_texted_to_8179_is_answered_from_8079_and_charged_as_8179(
    phones: Phones, session: Session, carriers: dict[str, FakeTransport]
) -> None:
    add_account(session, "0123456789", PHONE)

    [reply] = phones.text(PHONE, "BH MK 0123456789", to="8179")

    assert reply.startswith("Cap lai mat khau thanh cong. Tai khoan: 0123456789/Mat khau: ")
    assert [sms.sender for sms in carriers["viettel"].sent] == ["8079"]
    charge = session.scalars(select(LedgerEntry)).one()
    assert (charge.shortcode, charge.outcome) == ("8179", Outcome.RESET_SENT)
    assert charge.amount_vnd == 1000  # no 8179 line in the tariffs: GATEWAY_CHARGE_VND


def test_the_alias_is_a_setting_and_other_shortcodes_stay_refused(
    client: FlaskClient, clock: FakeClock, session: Session, environ: dict[str, str]
) -> None:
    def post(to: str) -> int:
        payload = {"id": f"mo-{to}", "from": PHONE, "to": to, "text": "BH MK 0123456789"}
        secret = CARRIER_SECRETS["viettel"]
        response = signed_post(client, "/carriers/viettel/mo", payload, secret=secret, clock=clock)
        return response.status_code

    assert load_settings(environ).shortcode_aliases == ("8179",)
    assert load_settings({**environ, "GATEWAY_SHORTCODE_ALIASES": "none"}).shortcode_aliases == ()
    assert (post("9029"), post("+8179"), post("8079")) == (422, 200, 200)
    assert session.scalar(select(func.count()).select_from(InboundMessage)) == 2
