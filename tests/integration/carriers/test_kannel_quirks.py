"""What only Kannel does: UCS-2 and 8-bit texts, a get-url without %I, DLRs on the way.

The contract every kind keeps (answers, stored row, refusals, reply, DLR) is in test_contract.py.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.models import InboundMessage
from tests.harness import stored_messages
from tests.integration.carriers.contracts import Contract
from tests.payloads import path_and_query, replay

KIND = "kannel"


def test_a_ucs2_text_and_its_repeat_are_stored_once_as_text(
    client: FlaskClient, session: Session
) -> None:
    replay(client, "kannel_mo_ucs2.http")
    again = replay(client, "kannel_mo_ucs2.http")

    assert (again.status_code, again.data) == (202, b"")
    assert stored_messages(session) == 1
    assert session.scalars(select(InboundMessage.text)).one() == "Bh mk 0123456789 gửi 8079"


def test_get_url_without_id_is_deduplicated_by_the_fallback(
    client: FlaskClient, session: Session
) -> None:
    assert replay(client, "kannel_mo_get_no_id.http").status_code == 202
    assert replay(client, "kannel_mo_get_no_id.http").status_code == 202
    assert stored_messages(session) == 1


@pytest.mark.parametrize("charset", ["rot13", "zlib", "base64", "hex", "no-such-charset"])
def test_a_charset_that_is_not_a_text_encoding_is_refused_for_good(
    client: FlaskClient, session: Session, charset: str
) -> None:
    # A 4xx, not a 503: Kannel would retry a message that can never be read.
    posted = replay(
        client, "kannel_mo_post.http", headers={"Content-Type": f"text/plain; charset={charset}"}
    )
    got = replay(
        client,
        "kannel_mo_get.http",
        target=path_and_query("kannel_mo_get.http") + f"&charset={charset}",
    )

    assert (posted.status_code, posted.data) == (400, b"invalid_payload")
    assert (got.status_code, got.data) == (400, b"invalid_payload")
    assert stored_messages(session) == 0


def test_a_dlr_on_the_way_is_acknowledged_and_not_recorded(
    client: FlaskClient, contract: Contract
) -> None:
    answer = client.get(f"/carriers/kannel/dlr?reference=987&status=8&token={contract.secret}")

    assert answer.status_code == 202
