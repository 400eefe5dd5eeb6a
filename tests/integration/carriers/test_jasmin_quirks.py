"""What only Jasmin does: UCS-2 by octet, its GET connector, codings, level 1 and 2 DLRs.

The contract every kind keeps (answers, stored row, refusals, reply, DLR) is in test_contract.py.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.carriers.fake import FakeTransport
from gateway.models import InboundMessage, OutboxMessage
from gateway.states import DeliveryStatus
from gateway.worker import Worker
from tests.harness import add_account, stored_messages
from tests.payloads import path_and_query, recorded, replay

KIND = "jasmin"


def test_a_ucs2_message_and_its_repeat_are_both_acknowledged(
    client: FlaskClient, session: Session
) -> None:
    first = replay(client, "jasmin_mo_ucs2.http")
    again = replay(client, "jasmin_mo_ucs2.http")

    assert (first.status_code, first.data) == (200, b"ACK/Jasmin")
    assert (again.status_code, again.data) == (200, b"ACK/Jasmin")
    assert stored_messages(session) == 1
    message = session.scalars(select(InboundMessage)).one()
    assert (message.carrier, message.text) == ("jasmin", "Bh mk 0123456789 gửi 8079")


def test_get_connector_is_acknowledged(client: FlaskClient, session: Session) -> None:
    assert replay(client, "jasmin_mo_get.http").data == b"ACK/Jasmin"
    assert stored_messages(session) == 1


@pytest.mark.parametrize("coding", [b"coding=%00%08", b"coding=256", b"coding=eight"])
def test_a_coding_jasmin_never_sends_is_refused_and_stores_nothing(
    client: FlaskClient, session: Session, coding: bytes
) -> None:
    body = recorded("jasmin_mo.http").body.replace(b"coding=%00", coding)

    response = replay(client, "jasmin_mo.http", body=body)

    assert response.status_code == 400
    assert b"coding" in response.data and b"ACK/Jasmin" not in response.data
    assert stored_messages(session) == 0


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("jasmin_dlr_submit_refused.http", DeliveryStatus.FAILED),  # level 1: ESME_RINVDSTADR
        ("jasmin_dlr_submit_ok.http", None),  # level 1: ESME_ROK, the phone has yet to answer
        ("jasmin_dlr_undelivered.http", DeliveryStatus.FAILED),
    ],
)
def test_level_1_and_2_reports_on_a_reply(
    client: FlaskClient,
    session: Session,
    worker: Worker,
    carriers: dict[str, FakeTransport],
    name: str,
    expected: DeliveryStatus | None,
) -> None:
    add_account(session)
    replay(client, "jasmin_mo_get_ucs2.http")
    worker.drain()
    [reply] = carriers["jasmin"].sent
    reference = recorded(name).query_params()["reference"].decode()
    target = path_and_query(name).replace(f"reference={reference}", f"reference={reply.reference}")

    answer = replay(client, name, target=target)

    assert (answer.status_code, answer.data) == (200, b"ACK/Jasmin")
    row = session.get(OutboxMessage, int(reply.reference))
    assert row is not None
    session.refresh(row)
    assert row.delivery_status is expected
