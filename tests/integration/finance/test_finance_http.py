"""GET /api/v1/finance/charges.csv: a bearer token or 401, bad parameters 400, a streamed CSV."""

from __future__ import annotations

import csv
import io

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.export import HEADER
from tests.harness import Phones, add_account

TOKEN = "finance-token-0123456789abcdef"
URL = "/api/v1/finance/charges.csv?from=2026-11-01&to=2026-11-30"


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    return {**environ, "FINANCE_API_TOKEN": TOKEN}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_export_streams_as_csv(phones: Phones, session: Session, client: FlaskClient) -> None:
    add_account(session, "0123456789", "0912345678")
    phones.text("0912345678", "BH MK 0123456789")
    phones.text("0987654321", "=cmd", carrier="mobifone")

    response = client.get(URL, headers=bearer(TOKEN))

    assert response.status_code == 200
    assert response.is_streamed
    assert response.content_type == "text/csv; charset=utf-8"
    assert 'filename="charges-2026-11-01-2026-11-30.csv"' in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff"), "Excel needs the byte order mark to read UTF-8"
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == list(HEADER)
    assert [(r[4], r[8], r[9], r[10]) for r in rows[1:]] == [
        ("viettel", "8491****678", "reset_sent", "1000"),
        ("mobifone", "8498****321", "wrong_syntax", "1000"),
    ]
    one = client.get(URL + "&carrier=mobifone&bom=0", headers=bearer(TOKEN))
    assert one.get_data(as_text=True).startswith("entry_id,")
    assert len(one.get_data(as_text=True).splitlines()) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("wrong-token-0123456789abcdef"),
        bearer(TOKEN + "x"),
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ],
)
def test_no_or_wrong_token_is_401_and_nothing_else(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    response = client.get(URL, headers=headers)

    assert response.status_code == 401
    assert response.get_json() == {
        "error": "invalid_credentials",
        "reason": "a valid finance bearer token is required",
    }


def test_without_a_configured_token_the_endpoint_is_closed(
    environ: dict[str, str], client: FlaskClient
) -> None:
    from gateway.app import create_app
    from gateway.settings import load_settings

    settings = load_settings({k: v for k, v in environ.items() if k != "FINANCE_API_TOKEN"})
    closed = create_app(settings).test_client()

    for headers in ({}, bearer(""), bearer(TOKEN)):
        assert closed.get(URL, headers=headers).status_code == 401


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("", "from and to are required, as YYYY-MM-DD local days"),
        ("?from=2026-11-01", "from and to are required, as YYYY-MM-DD local days"),
        ("?from=2026-11-01&to=30/11/2026", "to: '30/11/2026' is not a date in the form YYYY-MM-DD"),
        ("?from=2026-12-01&to=2026-11-30", "from 2026-12-01 is after to 2026-11-30"),
        ("?from=2026-11-01&to=2026-11-30&carrier=vinaphone", "unknown carrier 'vinaphone'"),
    ],
)
def test_bad_parameters_are_400(client: FlaskClient, query: str, reason: str) -> None:
    response = client.get(f"/api/v1/finance/charges.csv{query}", headers=bearer(TOKEN))

    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_payload", "reason": reason}
