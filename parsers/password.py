"""Generate passwords that are sent by SMS and typed by hand from the message."""

import secrets
import string
from typing import Final

# Upper-case letters and digits without look-alikes (0/O, 1/I/L), so a password read off a
# phone screen is typed right; nothing from the GSM-7 extension table, so each character costs
# one septet and no carrier mangles it.
_LOOK_ALIKES: Final = frozenset("0O1IL")
SMS_PASSWORD_ALPHABET: Final = "".join(
    ch for ch in string.ascii_uppercase + string.digits if ch not in _LOOK_ALIKES
)

_MIN_LENGTH: Final = 2


def generate_sms_password(length: int = 10) -> str:
    """Generate a random password of length characters with at least one letter and one digit."""
    if length < _MIN_LENGTH:
        raise ValueError(f"length must be at least {_MIN_LENGTH}, got {length}")
    # Drawing again until both kinds appear keeps every acceptable password equally likely.
    while True:
        password = "".join(secrets.choice(SMS_PASSWORD_ALPHABET) for _ in range(length))
        if any(ch.isalpha() for ch in password) and any(ch.isdigit() for ch in password):
            return password
