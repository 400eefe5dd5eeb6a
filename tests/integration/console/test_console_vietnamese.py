"""Every console page, as each role sees it, reads in Vietnamese: no English creeps back.

The visible text of each page (tags, attribute values, ``<code>`` samples of CLI commands and
scripts left out) is scanned for common English words a template or a refusal might carry.
Codes kept on purpose (carrier names, SMS, OTP, CSV, email) are not in the list.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from html import unescape

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from billing.outcomes import Outcome
from tests.integration.console.conftest import SignIn, csrf_of
from tests.integration.finance.test_finance_cli import Month

ENGLISH = re.compile(
    r"\b("
    r"error|errors|failed|failure|refunds?|refunded|password|submit|cancel|confirm|"
    r"download|upload|search|missing|matched|mismatch(es)?|line|lines|charges?|"
    r"amount|total|reason|message|messages|sign in|sign out|invalid|required|unknown|"
    r"not found|forbidden|file|column|phone|account|status|outcome|period|carrier|"
    r"the|and|with|please|must|should|only|none|already"
    r")\b",
    re.IGNORECASE,
)
# <code>: a CLI command or a column name; <samp>: machine text kept as is (audit details).
_HIDDEN = re.compile(r"<(script|style|code|samp|title)\b.*?</\1>", re.IGNORECASE | re.DOTALL)
# What a carrier said, quoted as received on the timeline (the test's fake carrier's words).
CARRIER_WORDS = ("400 unknown subscriber",)
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


def visible_text(page: TestResponse) -> str:
    """The text a person reads on a page: no tags, attributes, CLI samples or scripts."""
    html = _HIDDEN.sub(" ", page.get_data(as_text=True))
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    for quoted in CARRIER_WORDS:
        text = text.replace(quoted, "")
    return text


def english_in(page: TestResponse) -> list[str]:
    text = visible_text(page)
    return [text[max(0, m.start() - 30) : m.end() + 30] for m in ENGLISH.finditer(text)]


def finance_pages(client: FlaskClient, month: Month) -> Iterator[tuple[str, TestResponse]]:
    yield "charges", client.get("/console/charges", query_string=NOVEMBER)
    yield "refunds", client.get("/console/refunds", query_string=NOVEMBER)
    token = csrf_of(client.get("/console/refunds", query_string=NOVEMBER))
    error = month[Outcome.SYSTEM_ERROR]
    yield (
        "refunds-confirm",
        client.post(
            "/console/refunds/confirm",
            data={
                "csrf_token": token,
                **NOVEMBER,
                "message_id": [str(error.message_id)],
                "reason": "x",
            },
        ),
    )
    yield (
        "refunds-refused",
        client.post(
            "/console/refunds/confirm",
            data={"csrf_token": token, **NOVEMBER, "message_id": ["424242"], "reason": "x"},
        ),
    )
    served = month[Outcome.RESET_SENT]
    forced = {"forced_message_id": str(served.message_id), "forced_reason": "KN"}
    yield (
        "forced-confirm",
        client.post(
            "/console/refunds/forced/confirm", data={"csrf_token": token, **NOVEMBER, **forced}
        ),
    )
    yield (
        "forced-done",
        client.post(
            "/console/refunds/forced",
            data={"csrf_token": token, **NOVEMBER, **forced, "confirm": "yes"},
        ),
    )
    yield (
        "forced-twice",
        client.post(
            "/console/refunds/forced",
            data={"csrf_token": token, **NOVEMBER, **forced, "confirm": "yes"},
        ),
    )
    yield "reconciliation", client.get("/console/reconciliation")
    rows = [
        "Request_ID;User_ID;Time;Amount",
        f"{served.carrier_message_id};0912345678;02/11/2026 10:00:00;2.000",
        "x-1;0977777777;02/11/2026 11:00:00;1.000",
    ]
    for name, data in [
        ("reconciliation-result", "\r\n".join(rows).encode()),
        ("reconciliation-bad-rows", b"id;phone;time;amount\r\nA;09x;yesterday;1 VND\r\nA;;;\r\n"),
        ("reconciliation-bad-header", b"Foo;Bar\r\n1;2\r\n"),
        ("reconciliation-not-utf8", b"\xff\xfe\x00bad"),
    ]:
        yield (
            name,
            client.post(
                "/console/reconciliation",
                data={
                    "csrf_token": token,
                    "carrier": "viettel",
                    "file": (io.BytesIO(data), "f.csv"),
                },
                content_type="multipart/form-data",
            ),
        )
    yield "refunds-bad-period", client.get("/console/refunds?from=2026-13-01&to=2026-11-30")
    yield "outside-role", client.get("/console/overview")


def reader_pages(client: FlaskClient, month: Month) -> Iterator[tuple[str, TestResponse]]:
    token = csrf_of(client.get("/console/messages"))

    def search(path: str, **form: str) -> TestResponse:
        return client.post(path, data={"csrf_token": token, **form})

    yield "messages", client.get("/console/messages")
    yield "messages-found", search("/console/messages", phone="0912345678")
    yield "messages-bad", search("/console/messages", phone="09x")
    for key in (Outcome.RESET_SENT, Outcome.SYSTEM_ERROR, "reply_failed"):
        yield f"timeline-{key}", client.get(f"/console/messages/{month[key].message_id}")
    yield "accounts", client.get("/console/accounts")
    yield "account-found", search("/console/accounts", identifier="0123456789")
    yield "account-none", search("/console/accounts", identifier="0999999999")
    yield "audit", client.get("/console/audit")
    yield "audit-bad", client.get("/console/audit?action=nope")


def operator_pages(client: FlaskClient, month: Month) -> Iterator[tuple[str, TestResponse]]:
    yield "overview", client.get("/console/overview")
    yield "switches", client.get("/console/switches")
    yield from reader_pages(client, month)


def admin_pages(client: FlaskClient, month: Month) -> Iterator[tuple[str, TestResponse]]:
    yield "staff", client.get("/console/staff")
    yield "audit", client.get("/console/audit")


PAGES = {
    "finance": finance_pages,
    "operator": operator_pages,
    "support": reader_pages,
    "admin": admin_pages,
}


@pytest.mark.parametrize("role", sorted(PAGES))
def test_no_english_words_on_any_page_of_a_role(
    client: FlaskClient, signed_in: SignIn, month: Month, role: str
) -> None:
    signed_in(role)
    found: dict[str, list[str]] = {}
    for name, page in PAGES[role](client, month):
        assert page.status_code in (200, 400, 403, 404), (name, page.status_code)
        if hits := english_in(page):
            found[name] = hits

    assert found == {}, "\n".join(f"{name}: {hits[:4]}" for name, hits in found.items())


def test_the_sign_in_page_has_no_english(client: FlaskClient) -> None:
    assert english_in(client.get("/console/sign-in")) == []


def test_the_scan_finds_english_where_there_is_some() -> None:
    class Page:
        def get_data(self, as_text: bool) -> str:
            return '<p title="error">Lỗi: <code>refund</code> the file is empty</p>'

    assert [hit.strip() for hit in english_in(Page())] == [  # type: ignore[arg-type]
        "Lỗi: the file is empty",
        "Lỗi: the file is empty",
    ]
