"""Every kind's reading of its carrier's answer to a reply, as one table.

A row is a kind, the HTTP status and body its carrier answered, and what that means: the
carrier's id for the reply (None: it names none), or the send error the outbox acts on.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from gateway.carriers import jasmin, json_api, kannel, vnmo
from gateway.errors import PermanentSendError, RetryableSendError

Permanent, Retryable = PermanentSendError, RetryableSendError
ANSWERS = [
    (json_api, 200, b'{"message_id": "MT-1"}', "MT-1"),
    (json_api, 202, b'{"message_id": 991}', "991"),
    (json_api, 200, b"", None),
    (json_api, 204, b"not json", None),
    (json_api, 429, b"", Retryable),
    (json_api, 500, b"", Retryable),
    (json_api, 503, b"", Retryable),
    (json_api, 400, b"", Permanent),
    (json_api, 401, b"", Permanent),
    (json_api, 404, b"", Permanent),
    (json_api, 301, b"", Permanent),
    (kannel, 202, b"0: Accepted for delivery", None),  # sendsms names no id
    (kannel, 202, b"3: Queued for later delivery", None),
    (kannel, 403, b"Authorization failed for sendsms", Permanent),
    (kannel, 400, b"Missing receiver number, rejected", Permanent),
    (kannel, 503, b"Temporal failure, try again later.", Retryable),
    (kannel, 500, b"Sending failed.", Retryable),
    (kannel, 429, b"", Retryable),
    (
        jasmin,
        200,
        b'Success "07033084-5cfd-4812-90a4-e4d24ffb6e3d"',
        "07033084-5cfd-4812-90a4-e4d24ffb6e3d",
    ),
    (jasmin, 400, b'Error "Mandatory argument to is not found."', Permanent),
    (jasmin, 403, b'Error "Authentication failure for username:gw8079"', Permanent),
    (jasmin, 412, b'Error "No route found"', Permanent),
    (jasmin, 500, b'Error "Cannot send submit_sm"', Retryable),
    (jasmin, 200, b"OK", Permanent),  # 2xx without Success "<id>"
    (vnmo, 200, b"1", None),
    (vnmo, 200, b" 1\r\n", None),
    (vnmo, 200, b"<soap:Envelope><r><return>1</return></r></soap:Envelope>", None),
    (vnmo, 200, b"0", Retryable),  # the convention's "try again later"
    (vnmo, 200, b"-1", Permanent),
    (vnmo, 200, b"<x><result>-5</result></x>", Permanent),
    (vnmo, 200, b"OK", Permanent),
    (vnmo, 503, b"", Retryable),
    (vnmo, 404, b"", Permanent),
]


@pytest.mark.parametrize(
    ("kind", "status", "body", "meaning"),
    ANSWERS,
    ids=[
        f"{kind.__name__.rsplit('.', 1)[1]}-{status}-{body[:12]!r}"
        for kind, status, body, _ in ANSWERS
    ],
)
def test_the_carriers_answer_reads_as(
    kind: ModuleType, status: int, body: bytes, meaning: str | type[Exception] | None
) -> None:
    if isinstance(meaning, type):
        with pytest.raises(meaning):
            kind.parse_send_answer(status, body)
    else:
        assert kind.parse_send_answer(status, body).carrier_reference == meaning
