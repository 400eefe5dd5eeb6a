"""How the console writes numbers and times: Vietnamese digit grouping, local time."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from billing.periods import LOCAL_TZ
from parsers import mask_phone


def vnd(amount: int) -> str:
    """Write đồng the Vietnamese way: ``1234000`` becomes ``1.234.000 ₫``."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,} ₫".replace(",", ".")


def number(count: int) -> str:
    """Group the digits of a count with dots: ``12345`` becomes ``12.345``."""
    return f"{count:,}".replace(",", ".")


def local_time(moment: dt.datetime | None) -> str:
    """Write a UTC moment as local time (Asia/Ho_Chi_Minh), day first."""
    if moment is None:
        return "—"
    return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M:%S")


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
    "waiting": "đang chờ xử lý",
    "pending": "chờ gửi",
    "sending": "đang gửi",
    "sent": "đã gửi",
    "failed": "thất bại",
    "delivered": "đã nhận",
    "expired": "hết hạn",
    "missing_ours": "chỉ bên nhà mạng",
    "missing_theirs": "chỉ bên ta",
    "amount_mismatch": "lệch số tiền",
    "phone_mismatch": "lệch số điện thoại",
}


def label(code: str) -> str:
    """Name a status or outcome code in Vietnamese (an unknown code is shown as it is)."""
    return LABELS.get(code, code)


def install(app: Flask) -> None:
    """Make the formatters available to the console's templates."""
    app.jinja_env.filters.update(
        vnd=vnd,
        number=number,
        local_time=local_time,
        seconds=seconds,
        masked=mask_phone,
        label=label,
    )
