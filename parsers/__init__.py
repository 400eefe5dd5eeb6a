"""Pure text parsing for the 8079 gateway: plain text in, typed results out.

Folding and unaccenting user text (``text``), look-alike letters of other scripts read as
Latin (``lookalikes``, from Unicode's confusables data), the ``BH MK <id>`` request (``recovery``),
the keyword services' requests such as ``BH QT <ma so>`` (``keywords``),
Vietnamese mobile numbers (``phone``), GSM-7 and SMS segment counts (``gsm7``), masking personal
data for logs (``masking``) and SMS passwords (``password``). This package imports only the
standard library: no web framework, database or network code, and nothing else of ours.
"""

from parsers.gsm7 import is_gsm7, segments, septets
from parsers.keywords import (
    ArgumentKind,
    Keyword,
    KeywordTable,
    ServiceFailure,
    ServiceMatch,
    ServiceRequest,
)
from parsers.masking import mask_email, mask_id, mask_phone
from parsers.password import SMS_PASSWORD_ALPHABET, generate_sms_password
from parsers.phone import InvalidPhoneNumber, home_carrier, normalise_phone
from parsers.recovery import (
    FailureReason,
    IdKind,
    ParseFailure,
    ParseResult,
    RecoveryRequest,
    parse_recovery,
)
from parsers.text import fold, unaccent

__all__ = [
    "SMS_PASSWORD_ALPHABET",
    "ArgumentKind",
    "FailureReason",
    "IdKind",
    "InvalidPhoneNumber",
    "Keyword",
    "KeywordTable",
    "ParseFailure",
    "ParseResult",
    "RecoveryRequest",
    "ServiceFailure",
    "ServiceMatch",
    "ServiceRequest",
    "fold",
    "generate_sms_password",
    "home_carrier",
    "is_gsm7",
    "mask_email",
    "mask_id",
    "mask_phone",
    "normalise_phone",
    "parse_recovery",
    "segments",
    "septets",
    "unaccent",
]
