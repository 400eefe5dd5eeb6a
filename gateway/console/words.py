"""The refusals a staff member can meet, in Vietnamese: sign-in and the enrolment's password.

The same mechanism as the portal's (:class:`gateway.pages.RefusalWords`): words chosen by the
refusal's code (:class:`gateway.errors.Why`), never by its English message. Staff have an
email and no account number or phone, so the password policy's words here speak of the email
only. ``tests/unit/console/test_words.py`` fails when a code the console can meet has no words.
"""

from __future__ import annotations

from gateway.errors import Why
from gateway.pages import RefusalWords

_GUESSABLE = "rất dễ bị đoán. Hãy chọn mật khẩu khác, ví dụ một câu ngắn."

WORDS: dict[Why, str] = {
    # Signing in: one sentence for every cause, wait or not.
    Why.STAFF_SIGN_IN_REFUSED: "Email, mật khẩu hoặc mã xác thực không đúng. Sau vài lần sai, "
    "mỗi lần thử phải chờ lâu hơn: hãy đợi một lát rồi thử lại.",
    # Enrolment.
    Why.PASSWORDS_DIFFER: "Hai lần nhập mật khẩu không giống nhau.",
    Why.AUTHENTICATOR_CODE_REFUSED: "Mã trong ứng dụng xác thực không đúng hoặc đã hết hạn. "
    "Hãy nhập mã đang hiện trong ứng dụng.",
    # The password policy (gateway/accounts/policy.py), with the staff minimum.
    Why.PASSWORD_TOO_SHORT: "Mật khẩu quá ngắn: cần ít nhất {min_length} ký tự.",
    Why.PASSWORD_TOO_LONG: "Mật khẩu quá dài: tối đa {max_length} ký tự.",
    Why.PASSWORD_COMMON: "Mật khẩu nằm trong số những mật khẩu phổ biến nhất, dễ bị đoán. "
    "Hãy chọn mật khẩu ít gặp hơn, ví dụ một câu ngắn.",
    Why.PASSWORD_SERVICE_NAME: "Mật khẩu là tên dịch vụ (BHXH, VssID, bảo hiểm...) thêm vài "
    f"chữ số hoặc ký hiệu, {_GUESSABLE}",
    Why.PASSWORD_VIETNAMESE_WORD: "Mật khẩu là một từ hoặc tên phổ biến ở Việt Nam thêm vài "
    f"chữ số hoặc ký hiệu, {_GUESSABLE}",
    Why.PASSWORD_ONE_CHARACTER: "Mật khẩu chỉ lặp lại một ký tự. Hãy chọn mật khẩu khác.",
    Why.PASSWORD_HAS_IDENTIFIER: "Mật khẩu chứa địa chỉ email của bạn. Hãy chọn mật khẩu mà "
    "người khác không đoán được từ email.",
    Why.PASSWORD_UNCHANGED: "Mật khẩu mới phải khác mật khẩu hiện tại.",
}
FALLBACK = "Không thực hiện được yêu cầu. Hãy thử lại."

# A console refusal (or a bare code) in the console's words.
in_vietnamese = RefusalWords(WORDS, FALLBACK)
