"""The one catalog of SMS replies: unaccented Vietnamese, GSM-7, one segment each.

Every template is checked with the longest value each placeholder can take, at start
(:meth:`ReplyCatalog.check`) and in the tests, so no reply is ever split or sent as UCS-2.
"""

from __future__ import annotations

import datetime as dt
import enum
import string
from collections.abc import Iterable
from dataclasses import dataclass

from billing.outcomes import RECOVERY
from gateway.errors import ConfigError
from parsers import ArgumentKind, FailureReason, ParseFailure, septets

SEGMENT_SEPTETS = 160
PASSWORD_MASK = "*" * 10


class Reply(enum.Enum):
    """Every kind of SMS we send: replies to inbound messages, and notices that answer none."""

    RESET_SENT = "reset_sent"
    NOT_MATCHED = "not_matched"
    SYNTAX_HELP = "syntax_help"
    MISSING_NUMBER = "missing_number"
    WRONG_LENGTH = "wrong_length"
    NOT_DIGITS = "not_digits"
    NEAR_MISS = "near_miss"
    RATE_LIMITED = "rate_limited"
    TOO_MANY_MESSAGES = "too_many_messages"
    SERVICE_DISABLED = "service_disabled"
    SYSTEM_ERROR = "system_error"
    SIM_SWAPPED = "sim_swapped"
    SERVICES_HELP = "services_help"
    SERVICE_SYNTAX = "service_syntax"
    SERVICE_INTERRUPTED = "service_interrupted"
    FIRST_PASSWORD = "first_password"  # noqa: S105 (a name, not a password)
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (a name, not a password)
    EMAIL_CHANGED = "email_changed"
    EMAIL_REMOVED = "email_removed"
    PASSKEY_ADDED = "passkey_added"
    PASSKEY_REMOVED = "passkey_removed"
    RECOVERED = "recovered"
    SMART_OTP_ON = "smart_otp_on"
    SMART_OTP_OFF = "smart_otp_off"


TEMPLATES: dict[Reply, str] = {
    Reply.RESET_SENT: (
        "Cap lai mat khau thanh cong. Tai khoan: {account}/Mat khau: {password}. "
        "Dung 1 lan trong {ttl}. Dang nhap VssID va doi mat khau."
    ),
    # One text for "unknown number" and "phone does not match": the reply never tells
    # whether a social insurance number exists.
    Reply.NOT_MATCHED: (
        "So dien thoai va ma so BHXH khong khop hoac chua dang ky giao dich dien tu "
        "voi co quan BHXH. Ho tro: {hotline}"
    ),
    Reply.SYNTAX_HELP: (
        "Sai cu phap. De cap lai mat khau VssID soan: BH MK <{id_forms}> gui {shortcode}. "
        "Ho tro: {hotline}"
    ),
    Reply.MISSING_NUMBER: (
        "Thieu ma so. De cap lai mat khau VssID soan: BH MK <{id_forms}> gui {shortcode}. "
        "Ho tro: {hotline}"
    ),
    Reply.WRONG_LENGTH: (
        "Ma so khong dung do dai. Soan: BH MK <{id_forms}> gui {shortcode}. Ho tro: {hotline}"
    ),
    Reply.NOT_DIGITS: (
        "Ma so chi gom chu so, khong co chu cai. Soan: BH MK <{id_forms}> gui {shortcode}. "
        "Ho tro: {hotline}"
    ),
    # A keyboard slip one letter from the keyword (parsers/recovery.py): quote their own number
    # in the message to send, so the second try is a copy, not another guess.
    Reply.NEAR_MISS: (
        "Sai cu phap. Ban co the soan: BH MK {suggestion} gui {shortcode}. Ho tro: {hotline}"
    ),
    Reply.RATE_LIMITED: (
        "Ban da yeu cau cap lai mat khau qua nhieu lan. Vui long thu lai sau {wait}. "
        "Ho tro: {hotline}"
    ),
    # The per-phone limit reached by a keyword service's message (BH QT, ...): it asked for no
    # password, so the reply must not speak of one.
    Reply.TOO_MANY_MESSAGES: (
        "Ban da gui qua nhieu tin nhan den {shortcode}. Vui long thu lai sau {wait}. "
        "Ho tro: {hotline}"
    ),
    Reply.SERVICE_DISABLED: (
        "Dich vu cap lai mat khau qua SMS da dung. Vui long dung Quen mat khau qua email "
        "tren VssID hoac dang nhap bang VNeID. Ho tro: {hotline}"
    ),
    Reply.SYSTEM_ERROR: (
        "He thong dang gian doan, yeu cau chua duoc xu ly. Vui long thu lai sau it phut. "
        "Ho tro: {hotline}"
    ),
    # The carrier says the sender's SIM changed recently (docs/sim-swap.md): whoever holds it
    # now may be a thief, so point to the free ways that do not trust the phone. Never says which
    # account the number belongs to. 152 septets with a 9-character hotline.
    Reply.SIM_SWAPPED: (
        "SIM vua doi, de an toan khong cap mat khau qua SMS. Dung email, khoa truy cap, "
        "Smart OTP tren cong dich vu cong hoac den co quan BHXH. Ho tro: {hotline}"
    ),
    # Keyword services (docs/services.md). An unknown keyword, when services are configured,
    # is answered with every service's syntax instead of BH MK's alone.
    Reply.SERVICES_HELP: "Sai cu phap. Soan: {syntaxes} gui {shortcode}. Ho tro: {hotline}",
    Reply.SERVICE_SYNTAX: "Sai cu phap. Soan: {syntax} gui {shortcode}. Ho tro: {hotline}",
    # The agency's system did not answer until the retry horizon, or its switch is off.
    Reply.SERVICE_INTERRUPTED: (
        "Dich vu tam thoi gian doan, yeu cau cua ban chua duoc tra loi. "
        "Vui long thu lai sau. Ho tro: {hotline}"
    ),
    Reply.FIRST_PASSWORD: (
        "Tai khoan VssID {account} da duoc phe duyet. Mat khau: {password}. "
        "Dang nhap VssID va doi mat khau. Ho tro: {hotline}"
    ),
    # Never carries the new password: it warns the owner if someone else changed it.
    Reply.PASSWORD_CHANGED: (
        "Mat khau VssID cua tai khoan {account} vua duoc thay doi. "
        "Neu khong phai ban thuc hien, goi ngay {hotline}."
    ),
    # Never carries the address: the owner only needs to know that it changed.
    Reply.EMAIL_CHANGED: (
        "Email nhan thong bao cua tai khoan VssID {account} vua duoc thay doi. "
        "Neu khong phai ban thuc hien, goi ngay {hotline}."
    ),
    Reply.EMAIL_REMOVED: (
        "Email nhan thong bao cua tai khoan VssID {account} vua bi go bo. "
        "Neu khong phai ban thuc hien, goi ngay {hotline}."
    ),
    # A passkey signs in without the password: the owner must hear of every new one.
    Reply.PASSKEY_ADDED: (
        "Tai khoan VssID {account} vua them khoa truy cap (passkey) moi. "
        "Neu khong phai ban thuc hien, goi ngay {hotline}."
    ),
    Reply.PASSKEY_REMOVED: (
        "Mot khoa truy cap (passkey) cua tai khoan VssID {account} vua bi xoa. "
        "Neu khong phai ban thuc hien, goi ngay {hotline}."
    ),
    Reply.SMART_OTP_ON: (
        "Smart OTP cua tai khoan VssID {account} vua duoc bat tren mot thiet bi moi. "
        "Neu khong phai ban thuc hien, goi ngay {hotline}."
    ),
    Reply.SMART_OTP_OFF: (
        "Smart OTP cua tai khoan VssID {account} vua bi tat. "
        "Neu khong phai ban thuc hien, goi ngay {hotline}."
    ),
    Reply.RECOVERED: (
        "Tai khoan VssID {account} vua duoc lay lai mat khau bang {method}. "
        "Neu khong phai ban thuc hien, goi ngay {hotline}."
    ),
}

FAILURE_REPLIES = {
    FailureReason.EMPTY: Reply.SYNTAX_HELP,
    FailureReason.UNKNOWN_KEYWORD: Reply.SYNTAX_HELP,
    FailureReason.MISSING_NUMBER: Reply.MISSING_NUMBER,
    FailureReason.WRONG_LENGTH: Reply.WRONG_LENGTH,
    FailureReason.NOT_DIGITS: Reply.NOT_DIGITS,
    FailureReason.NEAR_MISS: Reply.NEAR_MISS,
}

# How each kind of argument is shown in a syntax (BH QT <ma so BHXH>).
ARGUMENT_FORMS = {
    ArgumentKind.BHXH: "ma so BHXH",
    ArgumentKind.FILE_ID: "ma ho so",
    ArgumentKind.TEXT: "noi dung",
}
RECOVERY_SYNTAX = "BH MK <ma so BHXH>"

# The longest value each per-message placeholder can take.
WORST_CASE = {
    "account": "0" * 12,
    "password": "X" * 10,
    "wait": "9999 gio",
    "suggestion": "0" * 12,
    "ttl": "9999 phut",
    "method": "khoa truy cap",
    "syntax": "BHXH THE <ma so BHXH>",  # the real ones are checked at start (ReplyCatalog.check)
}


@dataclass(frozen=True, slots=True)
class ReplyCatalog:
    """The templates with this deployment's fixed values (hotline, shortcode, id forms)."""

    hotline: str
    shortcode: str
    id_forms: str
    # Each keyword service's syntax, by name (BH MK's first); empty: no services configured,
    # and every reply is as it was before services existed.
    syntaxes: tuple[tuple[str, str], ...] = ()

    def render(self, reply: Reply, **values: str) -> str:
        """Fill one template; raise ValueError if the result is not a one-segment GSM-7 SMS."""
        text = TEMPLATES[reply].format(
            hotline=self.hotline,
            shortcode=self.shortcode,
            id_forms=self.id_forms,
            syntaxes=", ".join(syntax for _, syntax in self.syntaxes),
            **values,
        )
        length = septets(text)
        if length is None or length > SEGMENT_SEPTETS:
            raise ValueError(f"reply {reply.value} does not fit one GSM-7 segment")
        return text

    def render_failure(self, failure: ParseFailure) -> str:
        """Render the reply to a message that is not a well-formed request."""
        reply = FAILURE_REPLIES[failure.reason]
        if reply is Reply.SYNTAX_HELP and self.syntaxes:
            return self.render(Reply.SERVICES_HELP)
        if reply is Reply.NEAR_MISS:
            return self.render(reply, suggestion=failure.suggestion)
        return self.render(reply)

    def render_syntax(self, service: str) -> str:
        """Render the reply to a service's keyword with an unusable argument."""
        return self.render(Reply.SERVICE_SYNTAX, syntax=dict(self.syntaxes)[service])

    def check(self) -> None:
        """Raise ConfigError if any template could exceed one GSM-7 segment."""
        longest = max((syntax for _, syntax in self.syntaxes), key=len, default="")
        for reply, template in TEMPLATES.items():
            fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
            values = {name: WORST_CASE[name] for name in fields if name in WORST_CASE}
            if "syntax" in fields and longest:
                values["syntax"] = longest
            try:
                self.render(reply, **values)
            except ValueError as exc:
                if reply in (Reply.SERVICES_HELP, Reply.SERVICE_SYNTAX):
                    raise ConfigError(
                        f"{exc}: GATEWAY_SERVICES lists too many keywords, or too long ones "
                        f"({', '.join(syntax for _, syntax in self.syntaxes)})"
                    ) from None
                raise ConfigError(
                    f"{exc} with GATEWAY_HOTLINE={self.hotline!r}, "
                    f"GATEWAY_SHORTCODE={self.shortcode!r}"
                ) from None


def catalog_for(
    *,
    hotline: str,
    shortcode: str,
    accept_bhxh: bool,
    accept_personal_id: bool,
    services: Iterable[tuple[str, str, ArgumentKind]] = (),
) -> ReplyCatalog:
    """Build the catalog for one deployment's settings (``services``: each keyword service's
    name, published keyword and argument)."""
    syntaxes = tuple(
        (name, f"{keyword} <{ARGUMENT_FORMS[argument]}>") for name, keyword, argument in services
    )
    forms = []
    if accept_bhxh:
        forms.append("ma so BHXH 10 so")
    if accept_personal_id:
        forms.append("CCCD 12 so")
    return ReplyCatalog(
        hotline=hotline,
        shortcode=shortcode,
        id_forms=" hoac ".join(forms),
        syntaxes=((RECOVERY, RECOVERY_SYNTAX), *syntaxes) if syntaxes else (),
    )


def format_wait(window: dt.timedelta) -> str:
    """Say a waiting time the way the replies do: '24 gio', '30 phut'."""
    minutes = max(1, int(window.total_seconds() // 60))
    if minutes % 60 == 0:
        return f"{min(minutes // 60, 9999)} gio"
    return f"{min(minutes, 9999)} phut"
