"""Exceptions of the gateway package, translated to JSON answers at the HTTP edge.

GatewayError
 ├── ConfigError              a setting is missing or malformed (raised at start)
 │    └── DatabaseProblem         the database is unusable as configured: one line saying why
 ├── RequestRefused           an HTTP request we refuse; carries status and reason code
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


class GatewayError(Exception):
    """Base class of the gateway's own errors."""


class ConfigError(GatewayError):
    """A setting is missing or malformed; the message names the variable."""


class DatabaseProblem(ConfigError):
    """The database cannot be used as configured; the message says what to run or fix."""


class RequestRefused(GatewayError):
    """An HTTP request we refuse, with a stable machine-readable code and a human reason."""

    status = 400
    code = "bad_request"

    def __init__(
        self, reason: str, *, code: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after  # seconds, sent as Retry-After when set
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
