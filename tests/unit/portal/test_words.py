"""Every refusal a portal page can meet reads as Vietnamese, never the API's English."""

from __future__ import annotations

import pytest

from gateway.accounts.login import CAPPED, USED_TEMPORARY, WRONG
from gateway.accounts.policy import check_new_password
from gateway.errors import InvalidPayload
from gateway.portal.words import FALLBACK, in_vietnamese


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("ngan", "quá ngắn: cần ít nhất 8 ký tự"),
        ("x" * 129 + "y", "quá dài: tối đa 128 ký tự"),
        ("iloveyou", "phổ biến nhất"),
        ("zzzzzzzzzz", "lặp lại một ký tự"),
        ("0123456789 cua toi", "chứa mã số"),
    ],
)
def test_each_policy_refusal_is_explained(password: str, expected: str) -> None:
    with pytest.raises(InvalidPayload) as refused:
        check_new_password(password, identifiers=("0123456789",))

    assert expected in in_vietnamese(refused.value.reason)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (WRONG, "Sai mã số hoặc mật khẩu."),
        (USED_TEMPORARY, "đã được dùng"),
        (CAPPED, "lấy lại mật khẩu qua email hoặc SMS"),
        ("too many wrong passwords; try again in 17 s", "thử lại sau 17 giây"),
        ("too many codes; try again later", "quá nhiều mã"),
        ("set your own password first, then try again", "mật khẩu của riêng bạn"),
    ],
)
def test_login_refusals_are_explained(reason: str, expected: str) -> None:
    assert expected in in_vietnamese(reason)


def test_an_unknown_reason_gets_a_plain_vietnamese_sentence() -> None:
    assert in_vietnamese("something new") == FALLBACK
