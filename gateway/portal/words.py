"""The use cases' refusals in words a person reads: Vietnamese, with what to do next.

The use cases speak English to the JSON API; each reason the pages can meet is matched here.
"""

from __future__ import annotations

import re

# (pattern of the use case's reason, what the page says); {0} is the pattern's first group.
_WORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), text)
    for pattern, text in (
        (r"too short: use at least (\d+)", "Mật khẩu mới quá ngắn: cần ít nhất {0} ký tự."),
        (r"too long: use at most (\d+)", "Mật khẩu mới quá dài: tối đa {0} ký tự."),
        (
            r"most common passwords",
            "Mật khẩu mới nằm trong số những mật khẩu phổ biến nhất, dễ bị đoán. "
            "Hãy chọn mật khẩu ít gặp hơn, ví dụ một câu ngắn.",
        ),
        (
            r"this service's name with digits",
            "Mật khẩu mới là tên dịch vụ (BHXH, VssID, bảo hiểm...) thêm vài chữ số hoặc ký hiệu, "
            "rất dễ bị đoán. Hãy chọn mật khẩu khác, ví dụ một câu ngắn.",
        ),
        (
            r"common Vietnamese password with digits",
            "Mật khẩu mới là một từ hoặc tên phổ biến ở Việt Nam thêm vài chữ số hoặc ký hiệu, "
            "rất dễ bị đoán. Hãy chọn mật khẩu khác, ví dụ một câu ngắn.",
        ),
        (
            r"repeats one character",
            "Mật khẩu mới chỉ lặp lại một ký tự. Hãy chọn mật khẩu khác.",
        ),
        (
            r"contains your account number",
            "Mật khẩu mới chứa mã số, số điện thoại hoặc email của bạn. "
            "Hãy chọn mật khẩu mà người khác không đoán được từ những thông tin đó.",
        ),
        (r"must differ from the current", "Mật khẩu mới phải khác mật khẩu hiện tại."),
        (r"^wrong number or password$", "Sai mã số hoặc mật khẩu."),
        (
            r"temporary password was already used",
            "Mật khẩu tạm thời này đã được dùng. Hãy đặt mật khẩu mới; nếu không phải bạn "
            "đã dùng nó, hãy xin mật khẩu tạm thời khác.",
        ),
        (
            r"too many wrong passwords: recover",
            "Sai mật khẩu quá nhiều lần. Hãy lấy lại mật khẩu qua email hoặc SMS để đăng nhập.",
        ),
        (
            r"too many wrong attempts: recover",
            "Nhập sai quá nhiều lần. Hãy lấy lại mật khẩu bằng SMS, email hoặc khóa truy cập.",
        ),
        (r"wrong attempts; try again in (\d+) s", "Nhập sai nhiều lần. Hãy thử lại sau {0} giây."),
        (r"try again in (\d+) s", "Sai mật khẩu nhiều lần. Hãy thử lại sau {0} giây."),
        (r"too many codes", "Đã gửi quá nhiều mã. Hãy thử lại sau một giờ."),
        (
            r"set your own password first",
            "Hãy đặt mật khẩu của riêng bạn trước (không dùng mật khẩu tạm thời), rồi thử lại.",
        ),
        (r"token is invalid or expired", "Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại."),
    )
)
FALLBACK = "Không thực hiện được yêu cầu. Hãy thử lại hoặc gọi tổng đài."


def in_vietnamese(reason: str) -> str:
    """Return what a page says for a use case's refusal."""
    for pattern, text in _WORDS:
        found = pattern.search(reason)
        if found:
            return text.format(*found.groups())
    return FALLBACK
