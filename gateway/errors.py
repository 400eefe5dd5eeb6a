"""Exceptions of the gateway package, translated to JSON answers at the HTTP edge.

GatewayError
 ├── ConfigError              a setting is missing or malformed (raised at start)
 │    └── DatabaseProblem         the database is unusable as configured: one line saying why
 ├── RequestRefused           an HTTP request we refuse: status, code, English reason, and for
 │    │                       what a person sees a Why (a stable detail code) and its numbers
 │    ├── UnknownCarrier          404
 │    ├── NotFound                404
 │    ├── PayloadTooLarge         413
 │    ├── UnsupportedMediaType    415
 │    ├── BadSignature            401
 │    ├── InvalidPayload          400
 │    ├── WrongShortcode          422
 │    ├── ConflictingDuplicate    409
 │    ├── InvalidCredentials      401
 │    ├── PasswordChangeRequired  403 (a restricted session outside set-password and /me)
 │    ├── ProofRequired           403 (a sensitive change needs a sign-in of the last minutes)
 │    ├── StepUpRequired          403 (a sensitive change needs a current Smart OTP code)
 │    ├── PasskeyRefused          400 (a passkey ceremony's answer that does not verify)
 │    ├── TooManyPasskeys         409
 │    ├── InvalidOtp              400 (wrong, expired, used or locked: one answer for all)
 │    ├── InvalidCaptcha          400
 │    ├── TooManyAttempts         429
 │    ├── RateLimited             429 (this client is over its limit; Retry-After)
 │    └── Busy                    429 (every password-hashing slot is taken; Retry-After)
 ├── SendError                an outbound message was not accepted
 │    ├── RetryableSendError      try again later (timeouts, 429, 5xx; SMTP 4xx, no connection)
 │    └── PermanentSendError      never retry (other 4xx, malformed answers; SMTP 5xx)
 ├── IllegalTransition        a state change the transition table forbids
 ├── RequeueRefused           a failed reply that must not be sent again; carries a code
 └── BatchFailed              a batch of received messages did not commit (worker: one by one)
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class GatewayError(Exception):
    """Base class of the gateway's own errors."""


class ConfigError(GatewayError):
    """A setting is missing or malformed; the message names the variable."""


class DatabaseProblem(ConfigError):
    """The database cannot be used as configured; the message says what to run or fix."""


class Why(StrEnum):
    """Why a person was refused: a stable code that pages map to words, with its numbers.

    The English ``reason`` of a refusal is for logs and the JSON API and may be reworded at
    will; the portal and the console choose their Vietnamese by this code alone (a table in
    ``gateway/portal/words.py`` and ``gateway/console/words.py``), and the JSON API sends it as
    ``why`` next to ``error`` and ``reason``. A value, once released, never changes meaning.
    """

    # The password policy (400 weak_password; gateway/accounts/policy.py).
    PASSWORD_TOO_SHORT = "password_too_short"  # noqa: S105 (min_length)
    PASSWORD_TOO_LONG = "password_too_long"  # noqa: S105 (max_length)
    PASSWORD_COMMON = "password_common"  # noqa: S105
    PASSWORD_SERVICE_NAME = "password_service_name"  # noqa: S105
    PASSWORD_VIETNAMESE_WORD = "password_vietnamese_word"  # noqa: S105
    PASSWORD_ONE_CHARACTER = "password_one_character"  # noqa: S105
    PASSWORD_HAS_IDENTIFIER = "password_has_identifier"  # noqa: S105
    PASSWORD_UNCHANGED = "password_unchanged"  # noqa: S105
    # Signing in, proving a password, sessions (gateway/accounts/login.py, sessions.py).
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 (a code, not a password)
    TEMPORARY_PASSWORD_USED = "temporary_password_used"  # noqa: S105
    PASSWORD_CHANGED_MEANWHILE = "password_changed_meanwhile"  # noqa: S105
    OWN_PASSWORD_FIRST = "own_password_first"  # noqa: S105
    SESSION_EXPIRED = "session_expired"
    RECENT_PROOF_NEEDED = "recent_proof_needed"  # minutes
    # The throttle (gateway/accounts/throttle.py, through login.take_try).
    LOGIN_WAIT = "login_wait"  # seconds
    LOGIN_CAPPED = "login_capped"
    CODE_WAIT = "code_wait"  # seconds
    CODE_CAPPED = "code_capped"
    # Smart OTP (gateway/accounts/smart_otp*.py).
    SMART_OTP_NEEDED = "smart_otp_needed"
    SMART_OTP_CODE_REFUSED = "smart_otp_code_refused"
    SMART_OTP_CODE_MISMATCH = "smart_otp_code_mismatch"
    SMART_OTP_ENROLMENT_GONE = "smart_otp_enrolment_gone"
    SMART_OTP_OFF = "smart_otp_off"
    WRONG_NUMBER_OR_SMART_OTP_CODE = "wrong_number_or_smart_otp_code"
    # Email: codes, recovery, change (gateway/email/).
    OTP_REFUSED = "otp_refused"
    TOO_MANY_CODES = "too_many_codes"  # limit, minutes
    CAPTCHA_REFUSED = "captcha_refused"
    # Passkeys (gateway/passkeys/).
    PASSKEYS_OFF = "passkeys_off"
    PASSKEY_MALFORMED = "passkey_malformed"
    PASSKEY_NOT_ACCEPTED = "passkey_not_accepted"
    PASSKEY_REQUEST_GONE = "passkey_request_gone"
    PASSKEY_ID_TOO_LONG = "passkey_id_too_long"  # max_bytes
    PASSKEY_NAME_INVALID = "passkey_name_invalid"  # max_length
    PASSKEY_NOT_FOUND = "passkey_not_found"
    PASSKEY_ALREADY_ADDED = "passkey_already_added"
    TOO_MANY_PASSKEYS = "too_many_passkeys"  # max_passkeys
    PASSKEY_SIGN_IN_REFUSED = "passkey_sign_in_refused"
    # Per-client limits (gateway/ops/ratelimits.py).
    RATE_LIMITED = "rate_limited"  # seconds
    # The staff console (gateway/console/).
    STAFF_SIGN_IN_REFUSED = "staff_sign_in_refused"
    PASSWORDS_DIFFER = "passwords_differ"
    AUTHENTICATOR_CODE_REFUSED = "authenticator_code_refused"


class RequestRefused(GatewayError):
    """An HTTP request we refuse, with a stable machine-readable code and a human reason.

    ``why`` (a :class:`Why`) and ``numbers`` (the limits and waits it speaks of, by name) are
    set on every refusal a person can see: pages choose their words by them, never by
    ``reason``, which stays English for logs and the JSON API.
    """

    status = 400
    code = "bad_request"

    def __init__(
        self,
        reason: str,
        *,
        code: str | None = None,
        retry_after: int | None = None,
        why: Why | None = None,
        numbers: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after  # seconds, sent as Retry-After when set
        self.why = why
        self.numbers: Mapping[str, int] = dict(numbers or {})
        if code is not None:
            self.code = code


class UnknownCarrier(RequestRefused):
    status, code = 404, "unknown_carrier"


class NotFound(RequestRefused):
    status, code = 404, "not_found"


class PayloadTooLarge(RequestRefused):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(RequestRefused):
    status, code = 415, "unsupported_media_type"


class BadSignature(RequestRefused):
    status, code = 401, "bad_signature"


class InvalidPayload(RequestRefused):
    status, code = 400, "invalid_payload"


class WrongShortcode(RequestRefused):
    status, code = 422, "wrong_shortcode"


class ConflictingDuplicate(RequestRefused):
    status, code = 409, "conflicting_duplicate"


class InvalidCredentials(RequestRefused):
    status, code = 401, "invalid_credentials"


class PasswordChangeRequired(RequestRefused):
    status, code = 403, "password_change_required"


class ProofRequired(RequestRefused):
    status, code = 403, "recent_proof_required"


class StepUpRequired(RequestRefused):
    status, code = 403, "smart_otp_required"


class PasskeyRefused(RequestRefused):
    status, code = 400, "invalid_passkey"


class TooManyPasskeys(RequestRefused):
    status, code = 409, "too_many_passkeys"


class InvalidOtp(RequestRefused):
    status, code = 400, "invalid_otp"


class InvalidCaptcha(RequestRefused):
    status, code = 400, "invalid_captcha"


class TooManyAttempts(RequestRefused):
    status, code = 429, "too_many_attempts"


class RateLimited(RequestRefused):
    status, code = 429, "rate_limited"


class Busy(RequestRefused):
    status, code = 429, "busy"


class RequeueRefused(GatewayError):
    """A failed reply that may not be sent again; ``code`` says why (pages map it to words)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class SendError(GatewayError):
    """An outbound message was not accepted by the carrier."""


class RetryableSendError(SendError):
    """The carrier may accept the message later: a timeout, a refused connection, 429 or 5xx."""


class PermanentSendError(SendError):
    """The carrier will never accept the message as it is."""


class IllegalTransition(GatewayError):
    """A status change that the transition table does not allow."""


class BatchFailed(GatewayError):
    """A batch of received messages was rolled back; the worker decides them one by one."""

    def __init__(self, ids: list[int], sms_reset_enabled: bool) -> None:
        super().__init__(f"batch of {len(ids)} messages failed")
        self.ids = ids
        self.sms_reset_enabled = sms_reset_enabled
