"""The password policy for chosen passwords (NIST SP 800-63B 5.1.1.2, OWASP ASVS 5.0 §6.2).

Length only (8 or more by GATEWAY_MIN_PASSWORD_LENGTH, up to 128), any Unicode compared in
NFKC, no composition rules and no truncation. Refused: the 30,000 most common passwords that
zxcvbn ships (its "passwords" frequency list, from leaked password sets), the words people
here pick and the service's own name with only digits and symbols added ("Matkhau@123",
"Bảo hiểm 2024", "VssID@123"; compared without accents, capitals or spaces), and passwords that
contain the account's own identifiers. Every refusal says why, in words a person understands,
and carries a :class:`~gateway.errors.Why` (the pages choose their words by it).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Iterator
from importlib import resources

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from gateway.errors import InvalidPayload, Why
from gateway.models import Account

WEAK = "weak_password"  # the error code of every refusal here
MIN_LENGTH = 8
MAX_LENGTH = 128  # ASVS asks that at least 64 be allowed
# An identifier shorter than this (a short email local part) would refuse too much.
_MIN_IDENTIFIER = 4


def check_new_password(
    password: str, *, identifiers: Iterable[str] = (), min_length: int = MIN_LENGTH
) -> None:
    """Refuse a chosen password with a reason a person understands (InvalidPayload, 400)."""
    normalised = normalise_password(password)
    length = len(normalised)
    if length < min_length:
        _refuse(
            f"the new password is too short: use at least {min_length} characters",
            Why.PASSWORD_TOO_SHORT,
            min_length=min_length,
        )
    if length > MAX_LENGTH:
        _refuse(
            f"the new password is too long: use at most {MAX_LENGTH} characters",
            Why.PASSWORD_TOO_LONG,
            max_length=MAX_LENGTH,
        )
    folded = normalised.casefold()
    if folded in _common_passwords() or folded.replace(" ", "") in _common_passwords():
        _refuse(
            "the new password is one of the most common passwords; choose a less usual one",
            Why.PASSWORD_COMMON,
        )
    core = _core_word(folded)
    if core in _SERVICE_WORDS:
        _refuse(
            "the new password is this service's name with digits or symbols added; "
            "choose one others cannot guess",
            Why.PASSWORD_SERVICE_NAME,
        )
    if core in _vietnamese_words():
        _refuse(
            "the new password is a common Vietnamese password with digits or symbols added; "
            "choose a less usual one",
            Why.PASSWORD_VIETNAMESE_WORD,
        )
    if len(set(folded)) == 1:
        _refuse(
            "the new password repeats one character; choose a less usual one",
            Why.PASSWORD_ONE_CHARACTER,
        )
    for identifier in identifiers:
        fragment = normalise_password(identifier).casefold().strip()
        if len(fragment) >= _MIN_IDENTIFIER and fragment in folded:
            _refuse(
                "the new password contains your account number, phone or email; "
                "choose one others cannot guess from them",
                Why.PASSWORD_HAS_IDENTIFIER,
            )


def identifiers_of(account: Account) -> tuple[str, ...]:
    """Return what a password must not contain: the account's numbers, phone and email."""
    return tuple(_identifier_forms(account))


def normalise_password(password: str) -> str:
    """Return the form a password is hashed and compared in (NFKC, as NIST asks)."""
    return unicodedata.normalize("NFKC", password)


@functools.cache
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def _core_word(folded: str) -> str:
    """Return the word a password is built on: its letters without accents ("Mật khẩu@1" ->
    "matkhau"), or its digits when it has no letters ("1234-1234" -> "12341234")."""
    bare = unicodedata.normalize("NFKD", folded.replace("đ", "d"))
    letters = "".join(c for c in bare if "a" <= c <= "z")
    return letters or "".join(c for c in bare if c.isdigit())


# The service's own names: a password made of one of these and digits is the first one tried.
_SERVICE_WORDS = frozenset(
    ("bhxh", "vssid", "vss", "baohiem", "baohiemxahoi", "bhyt", "baohiemyte", "bhxhvn", "vssidvn")
)


@functools.cache
def _vietnamese_words() -> frozenset[str]:
    """The words of data/vietnamese_passwords.txt (its header says where they come from)."""
    text = resources.files(__package__).joinpath("data/vietnamese_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _identifier_forms(account: Account) -> Iterator[str]:
    yield account.bhxh
    if account.personal_id:
        yield account.personal_id
    yield account.phone
    yield "0" + account.phone[2:]  # the national form people type: 0912345678
    if account.email:
        yield account.email
        yield account.email.partition("@")[0]


def refuse_same_password() -> None:
    """Refuse a new password that is the current one (the caller has proven both)."""
    _refuse("the new password must differ from the current one", Why.PASSWORD_UNCHANGED)


def _refuse(reason: str, why: Why, **numbers: int) -> None:
    raise InvalidPayload(reason, code=WEAK, why=why, numbers=numbers)
