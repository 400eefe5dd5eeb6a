"""The one catalog of emails: Vietnamese with diacritics, plain text plus HTML.

Each email is rendered twice: as sent, and "safe", with the OTP or password masked; the outbox
keeps only the safe copy once the relay has the message. Links point to GATEWAY_PORTAL_URL,
never to the Host a request came in on. No template has a place for a password the user chose.
"""

from __future__ import annotations

import datetime as dt
import enum
import html
from dataclasses import dataclass
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SECRET_FIELDS = ("otp", "password", "code")
SECRET_MASK = "*" * 6

SIGNATURE = "Bảo hiểm xã hội Việt Nam\nThư này được gửi tự động, vui lòng không trả lời."


class EmailKind(enum.Enum):
    """Every kind of email we send."""

    RECOVERY_OTP = "recovery_otp"
    EMAIL_CHANGE_OTP = "email_change_otp"
    SMS_RESET = "sms_reset"
    FIRST_PASSWORD = "first_password"  # noqa: S105 (a name, not a password)
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (a name, not a password)
    EMAIL_CHANGED = "email_changed"
    EMAIL_ADDED = "email_added"
    EMAIL_REMOVED = "email_removed"
    PASSKEY_ADDED = "passkey_added"
    PASSKEY_REMOVED = "passkey_removed"
    RECOVERED = "recovered"
    SMART_OTP_ON = "smart_otp_on"
    SMART_OTP_OFF = "smart_otp_off"
    STAFF_ENROL_CODE = "staff_enrol_code"


_OTP_WARNING = (
    "Mã có hiệu lực trong {minutes} phút và chỉ dùng được một lần. Không cung cấp mã này cho "
    "bất kỳ ai, kể cả người tự xưng là cán bộ BHXH."
)

TEMPLATES: dict[EmailKind, tuple[str, tuple[str, ...]]] = {
    EmailKind.RECOVERY_OTP: (
        "Mã xác thực cấp lại mật khẩu VssID",
        (
            "Xin chào,",
            "Mã xác thực (OTP) để cấp lại mật khẩu tài khoản {account} là: {otp}",
            _OTP_WARNING,
            "Nếu bạn không yêu cầu cấp lại mật khẩu, hãy bỏ qua thư này: mật khẩu hiện tại "
            "vẫn giữ nguyên.",
        ),
    ),
    EmailKind.EMAIL_CHANGE_OTP: (
        "Mã xác thực địa chỉ email cho tài khoản VssID",
        (
            "Xin chào,",
            "Mã xác thực (OTP) để xác nhận địa chỉ email này cho tài khoản {account} là: {otp}",
            _OTP_WARNING,
            "Nếu bạn không yêu cầu, hãy bỏ qua thư này: địa chỉ email sẽ không được thêm.",
        ),
    ),
    # Never the password itself: it went by SMS to the registered phone.
    EmailKind.SMS_RESET: (
        "Mật khẩu tài khoản VssID vừa được cấp lại qua SMS",
        (
            "Xin chào,",
            "Lúc {when}, một mật khẩu tạm thời của tài khoản {account} đã được gửi bằng SMS tới "
            "số điện thoại đăng ký. Mật khẩu tạm thời chỉ đăng nhập được một lần, trong "
            "{minutes} phút; mật khẩu hiện tại vẫn dùng được cho đến khi có mật khẩu mới.",
            "Nếu không phải bạn yêu cầu, hãy gọi ngay tổng đài {hotline}.",
        ),
    ),
    EmailKind.FIRST_PASSWORD: (
        "Tài khoản VssID của bạn đã được phê duyệt",
        (
            "Xin chào,",
            "Tài khoản giao dịch điện tử {account} với cơ quan BHXH đã được phê duyệt.",
            "Để đặt mật khẩu của bạn, mở trang {activation_url} và nhập mã số {account} cùng "
            "mã kích hoạt dưới đây. Mã dùng được một lần, trong {hours} giờ; thư này không "
            "chứa mật khẩu nào.",
            "Mã kích hoạt: {code}",
            "Cần hỗ trợ, hãy gọi tổng đài {hotline}.",
        ),
    ),
    EmailKind.PASSWORD_CHANGED: (
        "Mật khẩu tài khoản VssID đã được thay đổi",
        (
            "Xin chào,",
            "Mật khẩu của tài khoản {account} vừa được thay đổi lúc {when}.",
            "Nếu bạn đã thực hiện, không cần làm gì thêm. Nếu không phải bạn, hãy cấp lại mật "
            "khẩu ngay tại Cổng Dịch vụ công ({portal_url}) và gọi tổng đài {hotline}.",
        ),
    ),
    EmailKind.EMAIL_CHANGED: (
        "Địa chỉ email của tài khoản VssID đã được thay đổi",
        (
            "Xin chào,",
            "Địa chỉ email nhận thông báo và mã OTP của tài khoản {account} vừa được đổi sang "
            "{new_email} lúc {when}. Từ nay thư sẽ được gửi tới địa chỉ mới.",
            "Nếu không phải bạn thực hiện, hãy gọi ngay tổng đài {hotline}.",
        ),
    ),
    EmailKind.EMAIL_ADDED: (
        "Địa chỉ email đã được gắn với tài khoản VssID",
        (
            "Xin chào,",
            "Địa chỉ này vừa được xác nhận là email nhận thông báo và mã OTP của tài khoản "
            "{account} lúc {when}.",
            "Nếu không phải bạn thực hiện, hãy gọi ngay tổng đài {hotline}.",
        ),
    ),
    EmailKind.EMAIL_REMOVED: (
        "Địa chỉ email đã được gỡ khỏi tài khoản VssID",
        (
            "Xin chào,",
            "Lúc {when}, địa chỉ này đã được gỡ khỏi tài khoản {account}: từ nay thư thông báo "
            "và mã OTP không còn gửi tới đây.",
            "Nếu không phải bạn thực hiện, hãy gọi ngay tổng đài {hotline}.",
        ),
    ),
    EmailKind.PASSKEY_ADDED: (
        "Tài khoản VssID vừa có thêm khóa truy cập",
        (
            "Xin chào,",
            "Lúc {when}, khóa truy cập (passkey) “{name}” đã được thêm vào tài khoản {account}. "
            "Khóa truy cập cho phép đăng nhập và lấy lại mật khẩu mà không cần mật khẩu.",
            "Nếu không phải bạn thực hiện, hãy lấy lại mật khẩu tại Cổng Dịch vụ công "
            "({portal_url}), xóa khóa này và gọi tổng đài {hotline}.",
        ),
    ),
    EmailKind.PASSKEY_REMOVED: (
        "Một khóa truy cập của tài khoản VssID đã bị xóa",
        (
            "Xin chào,",
            "Lúc {when}, khóa truy cập (passkey) “{name}” đã được xóa khỏi tài khoản {account}.",
            "Nếu không phải bạn thực hiện, hãy gọi ngay tổng đài {hotline}.",
        ),
    ),
    EmailKind.SMART_OTP_ON: (
        "Smart OTP của tài khoản VssID vừa được bật",
        (
            "Xin chào,",
            "Lúc {when}, Smart OTP của tài khoản {account} đã được bật trên một thiết bị. Từ nay "
            "mã Smart OTP trên thiết bị đó dùng để lấy lại mật khẩu và xác nhận các thay đổi quan "
            "trọng; thiết bị cũ (nếu có) không còn dùng được.",
            "Nếu không phải bạn thực hiện, hãy gọi ngay tổng đài {hotline}.",
        ),
    ),
    EmailKind.SMART_OTP_OFF: (
        "Smart OTP của tài khoản VssID đã bị tắt",
        (
            "Xin chào,",
            "Lúc {when}, Smart OTP của tài khoản {account} đã bị tắt.",
            "Nếu không phải bạn thực hiện, hãy gọi ngay tổng đài {hotline}.",
        ),
    ),
    # The staff console's enrolment page shows the TOTP seed only after this code is typed:
    # whoever else holds the link does not read the member's mailbox.
    EmailKind.STAFF_ENROL_CODE: (
        "Mã xác nhận đăng ký bảng điều khiển 8079",
        (
            "Xin chào,",
            "Mã xác nhận để đăng ký tài khoản nhân viên {account} trên bảng điều khiển 8079 "
            "là: {otp}",
            "Mã có hiệu lực trong {minutes} phút và chỉ dùng được một lần. Chỉ nhập mã trên "
            "trang đăng ký bạn vừa mở; không đưa mã cho bất kỳ ai, kể cả quản trị viên.",
            "Nếu bạn không mở liên kết đăng ký, hãy báo ngay cho quản trị viên: liên kết có thể "
            "đã lọt ra ngoài.",
        ),
    ),
    EmailKind.RECOVERED: (
        "Tài khoản VssID vừa được lấy lại mật khẩu",
        (
            "Xin chào,",
            "Lúc {when}, tài khoản {account} đã được lấy lại mật khẩu bằng {method}. Mật khẩu "
            "hiện tại vẫn dùng được cho đến khi có mật khẩu mới.",
            "Nếu không phải bạn thực hiện, hãy gọi ngay tổng đài {hotline}.",
        ),
    ),
}


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """One email as sent, and its safe copy with the OTP or password masked."""

    subject: str
    text: str
    html: str
    safe_text: str
    safe_html: str


@dataclass(frozen=True, slots=True)
class EmailCatalog:
    """The templates with this deployment's fixed values: the portal link and the hotline."""

    portal_url: str
    hotline: str

    def render(self, kind: EmailKind, **values: str) -> RenderedEmail:
        """Fill one template, as sent and with its secrets masked."""
        safe = {k: (SECRET_MASK if k in SECRET_FIELDS else v) for k, v in values.items()}
        subject, _ = TEMPLATES[kind]
        return RenderedEmail(
            subject=subject,
            text=self._text(kind, values),
            html=self._html(kind, values),
            safe_text=self._text(kind, safe),
            safe_html=self._html(kind, safe),
        )

    def _fixed(self) -> dict[str, str]:
        return {"portal_url": self.portal_url, "hotline": self.hotline}

    def _text(self, kind: EmailKind, values: dict[str, str]) -> str:
        _, paragraphs = TEMPLATES[kind]
        body = [p.format(**self._fixed(), **values) for p in paragraphs]
        return "\n\n".join([*body, "--", SIGNATURE]) + "\n"

    def _html(self, kind: EmailKind, values: dict[str, str]) -> str:
        subject, paragraphs = TEMPLATES[kind]
        url = html.escape(self.portal_url)
        fields = {
            "portal_url": f'<a href="{url}">{url}</a>',
            "hotline": html.escape(self.hotline),
            **{k: f"<strong>{html.escape(v)}</strong>" for k, v in values.items()},
        }
        body = "".join(
            f"<p>{html.escape(p).format(**fields).replace(chr(10), '<br>')}</p>\n"
            for p in paragraphs
        )
        signature = html.escape(SIGNATURE).replace("\n", "<br>")
        return (
            '<!DOCTYPE html>\n<html lang="vi"><head><meta charset="utf-8">'
            f"<title>{html.escape(subject)}</title></head>\n<body>\n{body}"
            f'<hr><p style="color:#666">{signature}</p>\n</body></html>\n'
        )


def local_time(moment: dt.datetime) -> str:
    """Say a moment the way Vietnamese readers expect: '10:05 ngày 02/11/2026' (Hà Nội time)."""
    return moment.astimezone(LOCAL_TZ).strftime("%H:%M ngày %d/%m/%Y")
