"""The reconciliation page's words: the column fields, and refusals of a file in Vietnamese.

``billing.reconcile`` words a bad file for the CLI, in English, one ``(line, reason)`` per
problem; this module says the same to the page, line by line. A reason it does not know is
shown as it is rather than hidden.
"""

from __future__ import annotations

import re

# Our four fields: the label, and the help shown under the field.
FIELDS = {
    "id": ("Cột mã tin của nhà mạng", "Mỗi tin một mã, không trùng; ví dụ Request_ID"),
    "phone": ("Cột số điện thoại", "Số người gửi, dạng nào cũng được (0912…, 84912…, +84…)"),
    "time": (
        "Cột thời gian",
        "Ví dụ 02/11/2026 10:00:00 hoặc 2026-11-02T10:00:00+07:00; không múi giờ là giờ Việt Nam",
    ),
    "amount": ("Cột số tiền", "Đồng, số nguyên: 1000, 1.000 hoặc 1,000"),
}
MAX_SHOWN = 20

_REASONS = [
    (
        re.compile(r"the file is not UTF-8 text.*"),
        "tệp không phải văn bản UTF-8: lưu lại dạng «CSV UTF-8» rồi thử lại",
    ),
    (re.compile(r"the file is empty"), "tệp trống"),
    (re.compile(r"the file has no rows"), "tệp không có dòng dữ liệu nào"),
    (re.compile(r"expected (\d+) cells, found (\d+)"), r"cần \1 ô, có \2 ô"),
    (re.compile(r"the id is empty"), "mã tin trống"),
    (re.compile(r"phone: .*"), "số điện thoại không đọc được"),
    (re.compile(r"time (.*) is not a time"), r"thời gian \1 không đọc được"),
    (
        re.compile(r"amount (.*) is not a whole number of đồng"),
        r"số tiền \1 không phải số đồng nguyên",
    ),
    (re.compile(r"id (.*) already on line (\d+)"), r"mã tin \1 trùng với dòng \2"),
    (
        re.compile(r"missing column (.*); the header has (.*)"),
        r"không có cột \1; tiêu đề của tệp có: \2",
    ),
    (re.compile(r"--columns: .*"), "ánh xạ cột không hợp lệ"),
]


def problem_words(problems: list[tuple[int, str]]) -> list[str]:
    """Word each ``(line, reason)`` of a refused file in Vietnamese, at most ``MAX_SHOWN``."""
    shown = [f"dòng {line}: {_reason(reason)}" for line, reason in problems[:MAX_SHOWN]]
    if len(problems) > MAX_SHOWN:
        shown.append(f"… và {len(problems) - MAX_SHOWN} dòng lỗi nữa")
    return shown


def _reason(reason: str) -> str:
    for pattern, words in _REASONS:
        if pattern.fullmatch(reason):
            return pattern.sub(words, reason).replace("(for ", "(cho ")
    return reason


def missing_words(missing: list[str], header: list[str]) -> str:
    """Say which fields found no column in the file, and what the file's header holds."""
    fields = ", ".join(f"«{FIELDS[name][0]}»" for name in missing)
    found = ", ".join(header) or "không có gì"
    return (
        f"không tìm thấy {fields} trong tiêu đề của tệp (tiêu đề có: {found}). "
        "Nhập tên cột của tệp vào ô tương ứng bên dưới."
    )
