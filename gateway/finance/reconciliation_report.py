"""The reconciliation report in Vietnamese, for the console's download and ``--lang vi``.

The same figures, in the same order, as ``billing.reconcile.render`` (English, the CLI's
default): counts and amounts per kind, both totals and their difference, then the examples.
Amounts are ours minus the carrier's, and each line says it in words as well.
"""

from __future__ import annotations

import datetime as dt

from billing.outcomes import RECOVERY
from billing.periods import Period, local_date
from billing.reconcile import Report
from parsers import mask_phone

# The kinds in the order the report and the page list them, with their Vietnamese names.
KIND_NAMES = {
    "missing_ours": "Chỉ bên nhà mạng (ta không có)",
    "missing_theirs": "Chỉ bên ta (nhà mạng không có)",
    "amount_mismatch": "Lệch số tiền",
    "phone_mismatch": "Lệch số điện thoại",
}


def dong(amount: int, *, sign: bool = False) -> str:
    """Write đồng with dot grouping: ``-1.000 ₫`` (``+1.000 ₫`` with ``sign``)."""
    prefix = "-" if amount < 0 else ("+" if sign and amount > 0 else "")
    return f"{prefix}{abs(amount):,} ₫".replace(",", ".")


def in_words(amount: int, carrier: str) -> str:
    """Say which side has more, for a reader who should not have to know the sign rule."""
    if amount > 0:
        return f"ta tính nhiều hơn {carrier} {dong(amount)}"
    if amount < 0:
        return f"{carrier} tính nhiều hơn ta {dong(-amount)}"
    return "hai bên khớp"


def days(period: Period) -> str:
    """Write a period's local days: ``01/11/2026 – 30/11/2026``."""
    last = local_date(period.end - dt.timedelta(microseconds=1))
    return f"{local_date(period.start):%d/%m/%Y} – {last:%d/%m/%Y}"


def file_name(carrier: str, period: Period) -> str:
    """Name the report's file after the carrier and the whole period (both days)."""
    last = local_date(period.end - dt.timedelta(microseconds=1))
    return f"doi-soat-{carrier}-{local_date(period.start).isoformat()}-{last.isoformat()}.txt"


def render_vi(report: Report, carrier: str, *, show: int = 20, unmasked: bool = False) -> list[str]:
    """Return the report as lines of Vietnamese text; up to ``show`` examples per kind."""
    phone = (lambda p: p) if unmasked else mask_phone
    lines = [
        f"Đối soát {carrier}, {days(report.period)} (giờ Việt Nam)",
        f"  {'Khớp':<32} {report.matched:>9}",
    ]
    for kind, title in KIND_NAMES.items():
        amount = report.amount(kind)
        words = in_words(amount, carrier) if amount else ""
        line = f"  {title:<32} {report.count(kind):>9}   {dong(amount, sign=True):>16}   {words}"
        lines.append(line.rstrip())
    difference = report.ours_total_vnd - report.theirs_total_vnd
    lines += [
        f"  {'Tổng của ta':<32} {dong(report.ours_total_vnd):>29}",
        f"  {'Tổng của ' + carrier:<32} {dong(report.theirs_total_vnd):>29}",
        f"  {'Chênh lệch tổng':<32} {dong(difference, sign=True):>29}   "
        f"{in_words(difference, carrier)}",
        f"  (số tiền là của ta trừ của {carrier}: + ta tính nhiều hơn, - {carrier} tính nhiều hơn)",
    ]
    if report.outside_period:
        lines.append(f"  Dòng của nhà mạng ngoài kỳ (bỏ qua): {report.outside_period}")
    for kind, title in KIND_NAMES.items():
        found = [d for d in report.differences if d.kind == kind]
        if not found:
            continue
        lines.append(f"{title}:")
        for d in found[:show]:
            ours, theirs = d.ours, d.theirs
            key = ours.carrier_message_id if ours else theirs.carrier_message_id if theirs else ""
            where = f"dòng {theirs.line}" if theirs else "chỉ bên ta"
            # A keyword service has its own tariff: name it, as the English report does.
            named = f" [{ours.service}]" if ours and ours.service != RECOVERY else ""
            ours_text = f"ta{named} {phone(ours.phone)} {dong(ours.amount_vnd)}" if ours else "ta —"
            theirs_text = (
                f"nhà mạng {phone(theirs.phone)} {dong(theirs.amount_vnd)}"
                if theirs
                else "nhà mạng —"
            )
            lines.append(f"  {key} ({where}): {ours_text}; {theirs_text}")
        if len(found) > show:
            lines.append(f"  … và {len(found) - show} chênh lệch nữa")
    return lines
