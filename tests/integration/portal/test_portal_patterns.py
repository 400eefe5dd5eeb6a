"""GOV.UK patterns on every portal page: what a field is for, errors that lead to their field.

WCAG 2.2 SC 1.3.5 (every field says its purpose with ``autocomplete``), 3.3.1 (the summary's
links each lead to a field on the page), 3.2.6 (the same help on every page) and the branding.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from tests.email_harness import add_account_with_email
from tests.integration.portal.conftest import Person, text

NEW = "mot cau mat khau moi"
_INPUT = re.compile(r"<input\b[^>]*>", re.S)
_TYPE = re.compile(r'\btype="([^"]+)"')
ANONYMOUS = [
    "/quen-mat-khau",
    "/quen-mat-khau/otp",
    "/quen-mat-khau/smart-otp",
    "/dang-nhap",
    "/kich-hoat",
]
SIGNED_IN = ["/tai-khoan", "/tai-khoan/email", "/doi-mat-khau", "/tai-khoan/smart-otp"]
# Forms posted empty (or wrong), so that every error summary is drawn.
REFUSED = [
    ("/quen-mat-khau", {}),
    ("/quen-mat-khau/otp", {"bhxh": "0123456789", "otp": "12"}),
    ("/quen-mat-khau/smart-otp", {}),
    ("/dang-nhap", {"bhxh": "0123456789", "password": "sai"}),
    ("/kich-hoat", {}),
]


def fields_without_purpose(body: str) -> list[str]:
    """The inputs a person types into that do not say what they are for."""
    typed_into = []
    for tag in _INPUT.findall(body):
        kind = _TYPE.search(tag)
        if kind and kind[1] in ("hidden", "checkbox", "radio", "submit", "button"):
            continue
        if "autocomplete=" not in tag:
            typed_into.append(tag)
    return typed_into


def dead_summary_links(body: str) -> list[str]:
    """The error summary's links whose field is not on the page (or hidden in <noscript>)."""
    shown = re.sub(r"<noscript>.*?</noscript>", "", body, flags=re.S)
    summary = re.search(r'<div class="error-summary".*?</div>', shown, re.S)
    targets = re.findall(r'href="#([^"]+)"', summary[0]) if summary else []
    return [t for t in targets if f'id="{t}"' not in shown]


def signed_in(person: Person, session: Session) -> None:
    add_account_with_email(session)
    person.ask()
    data = {"bhxh": "0123456789", "otp": person.last_otp(), "password": NEW, "password2": NEW}
    assert person.submit("/quen-mat-khau/otp", data).status_code == 303


@pytest.mark.parametrize("path", ANONYMOUS)
def test_every_anonymous_page_names_each_fields_purpose_and_carries_the_help(
    person: Person, path: str
) -> None:
    body = text(person.client.get(path))

    assert fields_without_purpose(body) == []
    assert "Không nhận được email?" in body and 'id="khong-nhan-duoc-email"' in body
    assert "VssID" in re.search(r"<title>(.*?)</title>", body, re.S)[1]  # type: ignore[index]
    assert 'rel="icon"' in body


def test_every_signed_in_page_names_each_fields_purpose(person: Person, session: Session) -> None:
    signed_in(person, session)

    for path in SIGNED_IN:
        body = text(person.client.get(path))
        assert fields_without_purpose(body) == [], path
        assert "Không nhận được email?" in body, path
        assert "Đăng xuất" in body, path


@pytest.mark.parametrize(("path", "data"), REFUSED, ids=[p for p, _ in REFUSED])
def test_each_error_in_the_summary_leads_to_its_field(
    person: Person, path: str, data: dict[str, str]
) -> None:
    refused = person.submit(path, data)

    assert refused.status_code in (400, 401)
    assert 'class="error-summary"' in text(refused)
    assert dead_summary_links(text(refused)) == []


def test_a_whole_form_refusal_is_listed_without_a_dead_link(
    person: Person, session: Session
) -> None:
    signed_in(person, session)

    refused = person.submit("/tai-khoan/email", {"step": "code", "otp": "12 34"})

    assert refused.status_code == 400
    assert dead_summary_links(text(refused)) == []
    assert 'autocomplete="one-time-code"' in text(refused)


def test_the_icon_is_served(person: Person) -> None:
    with person.client.get("/portal/static/favicon.svg") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
        assert b"<svg" in icon.data
