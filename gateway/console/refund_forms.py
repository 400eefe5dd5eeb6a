"""Read the refund forms and word their refusals in Vietnamese.

The pages keep what was typed and ticked when a refusal comes back: each reader raises
``Refused`` with the words, and the view renders the same page again with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from billing.errors import AlreadyRefunded, NotCharged, NotRefundable, RefundRefused
from gateway.finance.refunds import OneRefund

MAX_REFUNDS_AT_ONCE = 500
REASON_LENGTH = 200


class Refused(Exception):
    """A refund form that cannot be served; ``str()`` is the Vietnamese sentence to show."""


@dataclass(slots=True)
class Picked:
    """What the list form carried: the ticked messages and the reason (kept on a refusal)."""

    ids: list[int] = field(default_factory=list)
    reason: str = ""
    everything: bool = False  # "select all refundable in this filter"


@dataclass(slots=True)
class Forced:
    """The complaint form: one message, by our id or by carrier and the carrier's id."""

    message_id: str = ""
    carrier: str = ""
    carrier_message_id: str = ""
    reason: str = ""

    def ask(self) -> OneRefund:
        """The use case's request: a forced refund with the reason given."""
        if self.message_id:
            return OneRefund(message_id=int(self.message_id), reason=self.reason, force=True)
        return OneRefund(
            carrier=self.carrier,
            carrier_message_id=self.carrier_message_id,
            reason=self.reason,
            force=True,
        )

    def name(self) -> str:
        """Name the message in a sentence."""
        if self.message_id:
            return f"tin {self.message_id}"
        return f"tin {self.carrier_message_id!r} của {self.carrier}"


def read_picked(form: Any) -> Picked:
    """Read the ticked ids and the reason; raise Refused (with what was read) when wrong."""
    picked = Picked(reason=form.get("reason", "").strip()[:REASON_LENGTH])
    picked.everything = form.get("scope") == "all"
    raw = form.getlist("message_id")
    picked.ids = sorted({int(v) for v in raw if v.isascii() and v.isdigit() and len(v) < 19})
    if len(picked.ids) != len(set(raw)):
        raise PickedRefused(picked, "mã tin nhắn không hợp lệ")
    if not picked.reason:
        raise PickedRefused(picked, "ghi lý do hoàn tiền")
    if not picked.ids and not picked.everything:
        raise PickedRefused(picked, "chọn ít nhất một tin nhắn để hoàn tiền, hoặc «Chọn tất cả»")
    check_count(picked, len(picked.ids))
    return picked


def check_count(picked: Picked, count: int) -> None:
    """Refuse more messages at once than one confirmation page should carry."""
    if count > MAX_REFUNDS_AT_ONCE:
        raise PickedRefused(
            picked,
            f"tối đa {MAX_REFUNDS_AT_ONCE} tin nhắn mỗi lần: thu hẹp kỳ hoặc nhà mạng",
        )


class PickedRefused(Refused):
    """A refusal of the list form, carrying what was ticked so the page can tick it again."""

    def __init__(self, picked: Picked, words: str) -> None:
        super().__init__(words)
        self.picked = picked


def read_forced(form: Any) -> Forced:
    """Read the complaint form; raise ForcedRefused (with what was typed) when wrong."""
    forced = Forced(
        message_id=form.get("forced_message_id", "").strip()[:19],
        carrier=form.get("forced_carrier", "").strip()[:32],
        carrier_message_id=form.get("forced_carrier_message_id", "").strip()[:100],
        reason=form.get("forced_reason", "").strip()[:REASON_LENGTH],
    )
    if forced.message_id and not (forced.message_id.isascii() and forced.message_id.isdigit()):
        raise ForcedRefused(forced, "mã tin: nhập một số nguyên dương")
    if not forced.message_id and not (forced.carrier and forced.carrier_message_id):
        raise ForcedRefused(forced, "nhập mã tin, hoặc nhà mạng và mã tin của nhà mạng")
    if not forced.reason:
        raise ForcedRefused(forced, "hoàn tiền ngoài chính sách cần lý do (ví dụ số khiếu nại)")
    return forced


class ForcedRefused(Refused):
    """A refusal of the complaint form, carrying what was typed."""

    def __init__(self, forced: Forced, words: str) -> None:
        super().__init__(words)
        self.forced = forced


def refusal_words(exc: RefundRefused, name: str) -> str:
    """Say in Vietnamese why the ledger refused a refund of ``name`` (e.g. ``tin 12``)."""
    if isinstance(exc, NotCharged):
        return f"{name} không có cước trong sổ: không có gì để hoàn"
    if isinstance(exc, AlreadyRefunded):
        return f"{name} đã được hoàn tiền trước đó (mỗi tin chỉ hoàn một lần)"
    if isinstance(exc, NotRefundable):
        return (
            f"{name} không được hoàn theo chính sách; nếu có khiếu nại, dùng "
            "«Hoàn tiền theo khiếu nại» với lý do"
        )
    return f"{name}: số tiền hoàn phải từ 1 đồng đến số tiền đã tính"
