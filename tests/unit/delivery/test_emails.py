"""The email catalog: Vietnamese with diacritics, secrets only in the copy that is sent."""

from __future__ import annotations

import string

import pytest

from gateway.delivery.emails import SECRET_FIELDS, SECRET_MASK, TEMPLATES, EmailCatalog, EmailKind
from parsers import mask_email

CATALOG = EmailCatalog(portal_url="https://portal.example.vn", hotline="1900 9068")
VALUES = {
    "account": "0123456789",
    "otp": "493817",
    "password": "K7PQ2MXA4R",
    "minutes": "10",
    "hours": "24",
    "when": "10:05 ngày 02/11/2026",
    "new_email": "va***@example.vn",
    "name": "Điện thoại của Lan",
    "method": "khóa truy cập",
    "code": "K7PQ2MXA4R",
    "activation_url": "https://portal.example.vn/kich-hoat",
}


def fields(kind: EmailKind) -> set[str]:
    _, paragraphs = TEMPLATES[kind]
    return {name for p in paragraphs for _, name, _, _ in string.Formatter().parse(p) if name}


@pytest.mark.parametrize("kind", list(EmailKind))
def test_each_email_renders_with_its_secrets_only_in_the_sent_copy(kind: EmailKind) -> None:
    values = {name: VALUES[name] for name in fields(kind) - {"portal_url", "hotline"}}

    email = CATALOG.render(kind, **values)

    if "portal_url" in fields(kind):
        assert "https://portal.example.vn" in email.text
    assert "Bảo hiểm xã hội Việt Nam" in email.text
    for secret in SECRET_FIELDS:
        if secret in values:
            assert values[secret] in email.text and values[secret] in email.html
            assert values[secret] not in email.safe_text + email.safe_html
            assert SECRET_MASK in email.safe_text
    if not set(SECRET_FIELDS) & values.keys():
        assert (email.text, email.html) == (email.safe_text, email.safe_html)


def test_html_escapes_values_and_links_the_portal() -> None:
    catalog = EmailCatalog(portal_url="https://portal.example.vn/?a=1&b=2", hotline="1900 9068")

    email = catalog.render(EmailKind.PASSWORD_CHANGED, account="<b>x</b>", when="10:05")

    assert "&lt;b&gt;x&lt;/b&gt;" in email.html and "<b>x</b>" not in email.html
    assert '<a href="https://portal.example.vn/?a=1&amp;b=2">' in email.html


def test_no_template_has_a_place_for_a_chosen_password() -> None:
    assert all("new_password" not in fields(kind) for kind in EmailKind)


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("nguyen.van.a@example.vn", "ng***@example.vn"),
        ("ab@example.vn", "a***@example.vn"),
        ("a@example.vn", "***@example.vn"),
        ("not-an-address", "***"),
    ],
)
def test_mask_email(address: str, masked: str) -> None:
    assert mask_email(address) == masked
