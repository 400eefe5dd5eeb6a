"""Every refusal a portal page can meet reads as Vietnamese, chosen by its code, never by the
API's English: a code without words fails here, and rewording a reason changes no page."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gateway.accounts.policy import check_new_password
from gateway.errors import InvalidCredentials, InvalidPayload, RequestRefused, TooManyAttempts, Why
from gateway.portal.words import FALLBACK, WORDS, in_vietnamese

GATEWAY = Path(__file__).resolve().parents[3] / "gateway"
# The staff console's codes: its own table (tests/unit/console/test_words.py).
CONSOLE = GATEWAY / "console"


def raised_whys(paths: list[Path]) -> dict[Why, list[str]]:
    """Every ``Why.X`` the given modules name, with where: the codes their refusals carry."""
    found: dict[Why, list[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "Why"
            ):
                where = f"{path.relative_to(GATEWAY.parent)}:{node.lineno}"
                found.setdefault(Why[node.attr], []).append(where)
    return found


def use_case_modules() -> list[Path]:
    """The modules whose refusals a citizen can meet: all but the console, this table and
    the enum itself."""
    skip = {GATEWAY / "errors.py", GATEWAY / "portal" / "words.py"}
    return [
        path
        for path in GATEWAY.rglob("*.py")
        if path not in skip and CONSOLE not in path.parents and "migrations" not in path.parts
    ]


def test_every_code_the_use_cases_raise_has_vietnamese_words() -> None:
    raised = raised_whys(use_case_modules())

    assert raised, "the scan found no refusal codes at all"
    missing = {why.value: where for why, where in raised.items() if why not in WORDS}
    assert not missing, f"add words to gateway/portal/words.py for {missing}"


def test_every_code_is_raised_somewhere_and_has_words_in_one_area() -> None:
    from gateway.console.words import WORDS as CONSOLE_WORDS

    raised = raised_whys([p for p in GATEWAY.rglob("*.py") if p != GATEWAY / "errors.py"])

    assert set(Why) - set(raised) == set(), "a code nothing raises: remove it"
    assert set(Why) - set(WORDS) - set(CONSOLE_WORDS) == set()


@pytest.mark.parametrize("why", sorted(WORDS, key=str))
def test_each_text_takes_the_numbers_its_refusal_carries(why: Why) -> None:
    numbers = {"min_length": 8, "max_length": 128, "seconds": 17, "minutes": 5, "limit": 3}
    numbers |= {"max_bytes": 1023, "max_passkeys": 10}

    text = in_vietnamese(RequestRefused("x", why=why, numbers=numbers))

    assert text != FALLBACK and "{" not in text and text.endswith((".", ")."))


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("ngan", "Mật khẩu mới quá ngắn: cần ít nhất 8 ký tự."),
        ("x" * 129 + "y", "Mật khẩu mới quá dài: tối đa 128 ký tự."),
        ("iloveyou", "phổ biến nhất"),
        ("zzzzzzzzzz", "lặp lại một ký tự"),
        ("0123456789 cua toi", "chứa mã số"),
        ("matkhau@123", "phổ biến ở Việt Nam"),
        ("vssid123", "tên dịch vụ"),
    ],
)
def test_each_policy_refusal_is_explained(password: str, expected: str) -> None:
    with pytest.raises(InvalidPayload) as refused:
        check_new_password(password, identifiers=("0123456789",))

    assert expected in in_vietnamese(refused.value)


def test_rewording_the_english_reason_changes_no_word_of_the_page() -> None:
    with pytest.raises(InvalidPayload) as refused:
        check_new_password("ngan")
    original = refused.value
    reworded = InvalidPayload(
        "passwords need 8 characters or more",
        code=original.code,
        why=original.why,
        numbers=original.numbers,
    )

    assert in_vietnamese(reworded) == in_vietnamese(original)
    assert in_vietnamese(reworded) == "Mật khẩu mới quá ngắn: cần ít nhất 8 ký tự."


@pytest.mark.parametrize(
    ("refusal", "expected"),
    [
        (InvalidCredentials("anything", why=Why.WRONG_PASSWORD), "Sai mã số hoặc mật khẩu."),
        (InvalidCredentials("anything", why=Why.TEMPORARY_PASSWORD_USED), "đã được dùng"),
        (
            TooManyAttempts("anything", why=Why.LOGIN_CAPPED),
            "lấy lại mật khẩu qua email hoặc SMS",
        ),
        (
            TooManyAttempts("anything", why=Why.LOGIN_WAIT, numbers={"seconds": 17}),
            "Sai mật khẩu nhiều lần. Hãy thử lại sau 17 giây.",
        ),
        (
            TooManyAttempts("anything", why=Why.CODE_WAIT, numbers={"seconds": 4}),
            "Nhập sai nhiều lần. Hãy thử lại sau 4 giây.",
        ),
        (
            TooManyAttempts("x", why=Why.TOO_MANY_CODES, numbers={"limit": 3, "minutes": 60}),
            "Đã gửi quá nhiều mã (3 mã trong 60 phút).",
        ),
        (RequestRefused("anything", why=Why.OWN_PASSWORD_FIRST), "mật khẩu của riêng bạn"),
    ],
)
def test_login_refusals_are_explained(refusal: RequestRefused, expected: str) -> None:
    assert expected in in_vietnamese(refusal)


def test_a_refusal_without_a_code_or_without_its_numbers_gets_a_plain_vietnamese_sentence() -> None:
    assert in_vietnamese(RequestRefused("too short: use at least 8")) == FALLBACK
    assert in_vietnamese(RequestRefused("x", why=Why.LOGIN_WAIT)) == FALLBACK
