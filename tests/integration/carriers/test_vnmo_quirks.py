"""What only the Vietnamese MO convention does: SOAP as well as forms, codes instead of statuses.

The contract every kind keeps (answers, stored row, refusals, reply) is in test_contract.py.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.models import InboundMessage
from tests.harness import stored_messages
from tests.payloads import path_and_query, recorded, replay

KIND = "vnmo"


def test_soap_is_answered_in_soap(client: FlaskClient, session: Session) -> None:
    response = replay(client, "vnmo_mo_soap.http")

    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert b"<return>1</return>" in response.data
    assert session.scalars(select(InboundMessage.text)).one() == "Bh mk 0123456789 gửi 8079"


@pytest.mark.parametrize(
    ("name", "target", "body", "code"),
    [
        ("vnmo_mo_form.http", None, b"User_ID=0912345678&Service_ID=8079&Message=x", b"-2"),
        ("vnmo_mo_soap.http", "/carriers/vnmo/mo?token=nope", None, b"<return>-1</return>"),
    ],
    ids=["form-no-request-id", "soap-bad-token"],
)
def test_refusals_answer_negative_codes_in_the_same_shape(
    client: FlaskClient,
    session: Session,
    name: str,
    target: str | None,
    body: bytes | None,
    code: bytes,
) -> None:
    response = replay(
        client,
        name,
        target=target or path_and_query(name),
        body=recorded(name).body if body is None else body,
    )

    assert code in response.data
    assert stored_messages(session) == 0
