"""How the console writes numbers and times: Vietnamese digit grouping, local time."""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask

from billing.periods import LOCAL_TZ
from gateway.console.roles import ROLE_NAMES
from gateway.delivery.replies import PASSWORD_MASK
from parsers import mask_email, mask_id, mask_phone

# What a temporary password looks like on a page: never the password, never its length.
SECRET_SHOWN = "••••••••••"  # noqa: S105 (a mask, not a password)
# Runs of digits long enough to be a social insurance, ID or phone number.
_LONG_NUMBER = re.compile(r"\d{9,}")


def vnd(amount: int) -> str:
    """Write đồng the Vietnamese way: ``1234000`` becomes ``1.234.000 ₫``."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,} ₫".replace(",", ".")


def number(count: int) -> str:
    """Group the digits of a count with dots: ``12345`` becomes ``12.345``."""
    return f"{count:,}".replace(",", ".")


def local_time(moment: dt.datetime | None) -> str:
    """Write a UTC moment as local time (Asia/Ho_Chi_Minh), day first: ``dd/mm/yyyy HH:MM``."""
    if moment is None:
        return "—"
    return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


def iso_day(day: str) -> str:
    """Write a ``YYYY-MM-DD`` day (as the summary gives it) day first: ``dd/mm/yyyy``."""
    try:
        return dt.date.fromisoformat(day).strftime("%d/%m/%Y")
    except ValueError:
        return day


def masked_text(text: str) -> str:
    """Show a message body without what identifies a person or opens an account.

    The stored safe text carries ``PASSWORD_MASK`` where the temporary password was; numbers
    of nine digits or more (social insurance, ID, phone) keep only their ends.
    """
    text = text.replace(PASSWORD_MASK, SECRET_SHOWN)
    return _LONG_NUMBER.sub(lambda found: mask_id(found[0]), text)


def seconds(value: float | None) -> str:
    """Write a duration for people: ``0,8 giây``, ``3 phút 20 giây``."""
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.1f} giây".replace(".", ",")
    minutes, rest = divmod(int(value), 60)
    return f"{minutes} phút {rest} giây"


# Vietnamese names for the codes the pages show; the code itself stays in the CSV and the CLI.
LABELS = {
    "reset_sent": "đã cấp lại mật khẩu",
    "wrong_syntax": "sai cú pháp",
    "not_matched": "không khớp",
    "rate_limited": "vượt giới hạn",
    "service_disabled": "dịch vụ tạm dừng",
    "system_error": "lỗi hệ thống",
    "sim_swapped": "SIM vừa đổi",
    "forwarded": "đang chuyển dịch vụ",
    "answered": "dịch vụ đã trả lời",
    "not_found": "dịch vụ không tìm thấy",
    "interrupted": "dịch vụ gián đoạn",
    "waiting": "đang chờ xử lý",
    "pending": "chờ gửi",
    "sending": "đang gửi",
    "sent": "đã gửi",
    "failed": "thất bại",
    "delivered": "đã nhận",
    "expired": "hết hạn",
    "undelivered": "không phát được",
    "missing_ours": "chỉ bên nhà mạng",
    "missing_theirs": "chỉ bên ta",
    "amount_mismatch": "lệch số tiền",
    "phone_mismatch": "lệch số điện thoại",
    "none": "không trả lời",
    # accounts
    "active": "đang hoạt động",
    "disabled": "đã khóa",
    "login": "đăng nhập",
    "resets": "cấp mật khẩu tạm (SMS, email)",
    "email_otp": "mã OTP email",
    # audit actions, channels, actors and outcomes
    "recovery": "khôi phục qua SMS",
    "recovery_request": "yêu cầu khôi phục qua email",
    "recovery_verify": "khôi phục qua email",
    "passkey_recovery": "khôi phục bằng khóa truy cập",
    "smart_otp_recovery": "khôi phục bằng Smart OTP",
    "smart_otp_step_up": "xác thực Smart OTP",
    "password_change": "đổi mật khẩu",
    "first_password": "mật khẩu đầu tiên",
    "reauthenticate": "xác thực lại",
    "email_change_request": "yêu cầu đổi email",
    "email_change_confirm": "xác nhận đổi email",
    "email_remove": "gỡ email",
    "passkey_add": "thêm khóa truy cập",
    "passkey_rename": "đổi tên khóa truy cập",
    "passkey_remove": "gỡ khóa truy cập",
    "smart_otp_enrol": "đăng ký Smart OTP",
    "smart_otp_disable": "tắt Smart OTP",
    "switch": "công tắc",
    "sim_swap_check": "kiểm tra đổi SIM",
    "swapped": "SIM vừa đổi",
    "failed_open": "lỗi kiểm tra, vẫn cấp",
    "failed_closed": "lỗi kiểm tra, từ chối",
    "refund": "hoàn tiền",
    "reply_requeue": "gửi lại tin trả lời",
    "console_action": "thao tác bảng điều khiển",
    "staff_sign_in": "nhân viên đăng nhập",
    "staff_sign_out": "nhân viên đăng xuất",
    "staff_add": "thêm nhân viên",
    "staff_role": "đổi vai trò",
    "staff_reset": "cấp lại nhân viên",
    "staff_disable": "khóa nhân viên",
    "sms": "SMS",
    "email": "email",
    "app": "ứng dụng",
    "portal": "cổng web",
    "cli": "dòng lệnh",
    "console": "bảng điều khiển",
    "operator": "vận hành",
    "system": "hệ thống",
    "ok": "thành công",
    "success": "thành công",
    "refused": "bị từ chối",
    "forbidden": "ngoài vai trò",
    "throttled": "phải chờ",
}


def label(code: str) -> str:
    """Name a status or outcome code in Vietnamese (an unknown code is shown as it is)."""
    return LABELS.get(code, code)


def role_name(role: str) -> str:
    """Name a staff role in Vietnamese (``operator`` is ``vận hành``)."""
    return ROLE_NAMES.get(role, role)


def install(app: Flask) -> None:
    """Make the formatters available to the console's templates."""
    app.jinja_env.filters.update(
        vnd=vnd,
        number=number,
        local_time=local_time,
        iso_day=iso_day,
        seconds=seconds,
        masked=mask_phone,
        masked_email=mask_email,
        masked_id=mask_id,
        masked_text=masked_text,
        label=label,
        role_name=role_name,
    )
