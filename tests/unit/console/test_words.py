"""The console says its refusals in Vietnamese by their code, like the portal, in words for
staff: they have an email, not an account number or a phone."""

from __future__ import annotations

import pytest

from gateway.accounts.policy import check_new_password
from gateway.console.errors import SignInRefused
from gateway.console.policy import check_password
from gateway.console.words import FALLBACK, WORDS, in_vietnamese
from gateway.errors import InvalidPayload, Why
from tests.unit.portal.test_words import CONSOLE, GATEWAY, raised_whys

POLICY = GATEWAY / "accounts" / "policy.py"


def test_every_code_the_console_and_the_password_policy_raise_has_words() -> None:
    raised = raised_whys([*CONSOLE.rglob("*.py"), POLICY])
    raised.pop(Why.STAFF_SIGN_IN_REFUSED, None)  # named by the exception class itself

    assert Why.PASSWORDS_DIFFER in raised and Why.PASSWORD_TOO_SHORT in raised
    missing = {why.value: where for why, where in raised.items() if why not in WORDS}
    assert not missing, f"add words to gateway/console/words.py for {missing}"
    assert SignInRefused.why in WORDS


@pytest.mark.parametrize("why", sorted(WORDS, key=str))
def test_no_text_speaks_of_what_staff_do_not_have(why: Why) -> None:
    text = in_vietnamese(
        InvalidPayload("x", why=why, numbers={"min_length": 12, "max_length": 128})
    )

    assert text != FALLBACK and "{" not in text
    assert "mã số" not in text and "số điện thoại" not in text


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("short", "Mật khẩu quá ngắn: cần ít nhất 12 ký tự."),
        ("x lan@example.vn y", "Mật khẩu chứa địa chỉ email của bạn."),
        ("password1234", "phổ biến nhất"),
    ],
)
def test_the_enrolment_policy_is_explained_for_staff(password: str, expected: str) -> None:
    with pytest.raises(InvalidPayload) as refused:
        check_password(password, identifiers=("lan@example.vn", "lan"))

    assert expected in in_vietnamese(refused.value)


def test_rewording_the_english_reason_changes_nothing_on_the_console() -> None:
    with pytest.raises(InvalidPayload) as refused:
        check_new_password("ab", min_length=12)
    reworded = InvalidPayload("another sentence", why=refused.value.why, numbers={"min_length": 12})

    assert in_vietnamese(reworded) == in_vietnamese(refused.value)
    assert in_vietnamese(SignInRefused("any English at all")) == WORDS[Why.STAFF_SIGN_IN_REFUSED]
