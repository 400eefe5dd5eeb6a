"""The use cases' refusals in words a person reads: Vietnamese, with what to do next.

The use cases speak English to the JSON API and the logs; every refusal a person can see also
carries a code (:class:`gateway.errors.Why`) and its numbers, and the pages choose their words
by that code alone: rewording an English reason changes nothing here. A code a use case can
raise without words in this table fails ``tests/unit/portal/test_words.py``.
"""

from __future__ import annotations

from gateway.errors import Why
from gateway.pages import RefusalWords

_GUESSABLE = "rất dễ bị đoán. Hãy chọn mật khẩu khác, ví dụ một câu ngắn."
_PASSKEY_NOT_ADDED = "Không thêm được khóa truy cập. Hãy thử lại."

# What a page says for each code; {name} is the refusal's number of that name.
WORDS: dict[Why, str] = {
    # The password policy.
    Why.PASSWORD_TOO_SHORT: "Mật khẩu mới quá ngắn: cần ít nhất {min_length} ký tự.",
    Why.PASSWORD_TOO_LONG: "Mật khẩu mới quá dài: tối đa {max_length} ký tự.",
    Why.PASSWORD_COMMON: "Mật khẩu mới nằm trong số những mật khẩu phổ biến nhất, dễ bị đoán. "
    "Hãy chọn mật khẩu ít gặp hơn, ví dụ một câu ngắn.",
    Why.PASSWORD_SERVICE_NAME: "Mật khẩu mới là tên dịch vụ (BHXH, VssID, bảo hiểm...) thêm vài "
    f"chữ số hoặc ký hiệu, {_GUESSABLE}",
    Why.PASSWORD_VIETNAMESE_WORD: "Mật khẩu mới là một từ hoặc tên phổ biến ở Việt Nam thêm vài "
    f"chữ số hoặc ký hiệu, {_GUESSABLE}",
    Why.PASSWORD_ONE_CHARACTER: "Mật khẩu mới chỉ lặp lại một ký tự. Hãy chọn mật khẩu khác.",
    Why.PASSWORD_HAS_IDENTIFIER: "Mật khẩu mới chứa mã số, số điện thoại hoặc email của bạn. "
    "Hãy chọn mật khẩu mà người khác không đoán được từ những thông tin đó.",
    Why.PASSWORD_UNCHANGED: "Mật khẩu mới phải khác mật khẩu hiện tại.",
    # Signing in and sessions.
    Why.WRONG_PASSWORD: "Sai mã số hoặc mật khẩu.",
    Why.TEMPORARY_PASSWORD_USED: "Mật khẩu tạm thời này đã được dùng. Hãy đặt mật khẩu mới; "
    "nếu không phải bạn đã dùng nó, hãy xin mật khẩu tạm thời khác.",
    Why.PASSWORD_CHANGED_MEANWHILE: "Mật khẩu vừa được đổi ở nơi khác. Hãy đăng nhập lại.",
    Why.OWN_PASSWORD_FIRST: "Hãy đặt mật khẩu của riêng bạn trước (không dùng mật khẩu tạm "
    "thời), rồi thử lại.",
    Why.SESSION_EXPIRED: "Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại.",
    Why.RECENT_PROOF_NEEDED: "Hãy xác nhận lại mật khẩu trước (lần xác nhận trước đã quá "
    "{minutes} phút).",
    # The throttle.
    Why.LOGIN_WAIT: "Sai mật khẩu nhiều lần. Hãy thử lại sau {seconds} giây.",
    Why.LOGIN_CAPPED: "Sai mật khẩu quá nhiều lần. Hãy lấy lại mật khẩu qua email hoặc SMS để "
    "đăng nhập.",
    Why.CODE_WAIT: "Nhập sai nhiều lần. Hãy thử lại sau {seconds} giây.",
    Why.CODE_CAPPED: "Nhập sai quá nhiều lần. Hãy lấy lại mật khẩu bằng SMS, email hoặc khóa "
    "truy cập.",
    # Smart OTP.
    Why.SMART_OTP_NEEDED: "Hãy nhập mã Smart OTP hiện tại trong ứng dụng (mỗi mã chỉ dùng được "
    "một lần).",
    Why.SMART_OTP_CODE_REFUSED: "Mã Smart OTP không đúng, đã hết hạn hoặc đã được dùng. "
    "Hãy nhập mã mới trong ứng dụng.",
    Why.SMART_OTP_CODE_MISMATCH: "Mã không khớp với Smart OTP mới. Hãy kiểm tra giờ trên điện "
    "thoại (tự động) rồi nhập mã đang hiện trong ứng dụng.",
    Why.SMART_OTP_ENROLMENT_GONE: "Lần bật Smart OTP này đã hết hạn. Hãy bấm “Bật Smart OTP” "
    "để bắt đầu lại.",
    Why.SMART_OTP_OFF: "Tài khoản này chưa bật Smart OTP.",
    Why.WRONG_NUMBER_OR_SMART_OTP_CODE: "Mã số hoặc mã Smart OTP không đúng (hoặc mã đã được "
    "dùng).",
    # Email codes and captchas.
    Why.OTP_REFUSED: "Mã OTP không đúng, đã hết hạn hoặc đã được dùng (nhập sai nhiều lần cũng "
    "khóa mã). Hãy kiểm tra email hoặc xin mã mới.",
    Why.TOO_MANY_CODES: "Đã gửi quá nhiều mã ({limit} mã trong {minutes} phút). Hãy thử lại sau.",
    Why.CAPTCHA_REFUSED: "Mã xác nhận không đúng hoặc đã hết hạn. Hãy nhập mã trong ảnh mới.",
    # Passkeys.
    Why.PASSKEYS_OFF: "Máy chủ này chưa bật khóa truy cập.",
    Why.PASSKEY_MALFORMED: _PASSKEY_NOT_ADDED,
    Why.PASSKEY_NOT_ACCEPTED: _PASSKEY_NOT_ADDED,
    Why.PASSKEY_REQUEST_GONE: _PASSKEY_NOT_ADDED,
    Why.PASSKEY_ID_TOO_LONG: _PASSKEY_NOT_ADDED,
    Why.PASSKEY_NAME_INVALID: "Tên cần từ 1 đến {max_length} ký tự.",
    Why.PASSKEY_NOT_FOUND: "Không tìm thấy khóa truy cập này.",
    Why.PASSKEY_ALREADY_ADDED: "Khóa truy cập này đã có trong tài khoản.",
    Why.TOO_MANY_PASSKEYS: "Tài khoản đã có đủ {max_passkeys} khóa truy cập. Hãy xóa bớt một "
    "khóa trước.",
    Why.PASSKEY_SIGN_IN_REFUSED: "Khóa truy cập không được chấp nhận. Hãy thử lại hoặc dùng "
    "cách khác.",
    Why.RATE_LIMITED: "Có quá nhiều yêu cầu. Hãy đợi một lát rồi thử lại.",
}
FALLBACK = "Không thực hiện được yêu cầu. Hãy thử lại hoặc gọi tổng đài."

# A refusal (an exception with its code and numbers), or a bare code, in the portal's words.
in_vietnamese = RefusalWords(WORDS, FALLBACK)
