"""The edge's validators refuse what would crash or mislead the code behind them."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway import fields
from gateway.errors import InvalidPayload


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("\udc5c", "surrogate"),
        ("abc\ud800", "surrogate"),
        ("a\x00b", "NUL"),
        ("", "non-empty"),
        ("x" * 257, "longer than 256"),
        (12, "must be a string"),
        (None, "must be a string"),
    ],
)
def test_text_refuses(value: object, reason: str) -> None:
    with pytest.raises(InvalidPayload, match=reason):
        fields.text(value, "password")


def test_text_keeps_vietnamese_and_emoji() -> None:
    assert fields.text("Mật khẩu mới 🙂", "password") == "Mật khẩu mới 🙂"


@pytest.mark.parametrize("value", ["²", "¹²³", "٣٤", "𝟗", "1²", "-1", "+1", " 1", "", "1" * 19])
def test_digits_are_ascii_only(value: str) -> None:
    with pytest.raises(InvalidPayload, match="digits 0-9"):
        fields.digits(value, "status")


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("1764063000", True),
        ("946684800", True),  # 2000-01-01
        ("946684799", False),
        ("4102444800", False),  # 2100-01-01
        ("999999999999", False),  # would overflow datetime
        ("²", False),
    ],
)
def test_unix_seconds_are_bounded(value: str, accepted: bool) -> None:
    if accepted:
        assert fields.unix_seconds(value, "ts").tzinfo is dt.UTC
    else:
        with pytest.raises(InvalidPayload, match="ts"):
            fields.unix_seconds(value, "ts")


@pytest.mark.parametrize(
    "value",
    ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00", "1999-12-31T00:00:00+00:00",
     "2026-11-25T09:30:00", "2026-13-01T00:00:00+07:00", 17, "²"],
)  # fmt: skip
def test_iso_moments_refused(value: object) -> None:
    with pytest.raises(InvalidPayload, match="received_at"):
        fields.iso_moment(value, "received_at")


def test_iso_moment_is_read_as_utc() -> None:
    moment = fields.iso_moment("2026-11-25T09:30:00+07:00", "received_at")

    assert moment == dt.datetime(2026, 11, 25, 2, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "2026-02-30", "2026-1-1", "²"])
def test_days_refused(value: str) -> None:
    with pytest.raises(InvalidPayload, match="YYYY-MM-DD"):
        fields.iso_day(value, "to")


@pytest.mark.parametrize(
    ("raw", "depth"),
    [(b"1", 0), (b"{}", 1), (b'{"a": [1, {"b": 2}]}', 3), (b'{"a": "[[[[[[["}', 1),
     (b'{"a": "\\"[[[["}', 1), (b"[" * 5000, 5000)],
)  # fmt: skip
def test_json_depth_ignores_brackets_in_strings(raw: bytes, depth: int) -> None:
    assert fields.json_depth(raw) == depth


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"[" * 5000 + b"]" * 5000, "deeper than 16"),
        (b'{"a":' * 3000 + b"1" + b"}" * 3000, "deeper than 16"),
        (b'{"password": "\\udc5c"}', "password holds"),
        (b'{"\\ud800": 1}', "field name"),
        (b'{"a": "x\\u0000"}', "NUL"),
        (b'{"a": NaN}', "not valid JSON"),
        (b'{"a": Infinity}', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_load_json_refuses(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidPayload, match=reason):
        fields.load_json(raw)


def test_load_json_reads_a_normal_body() -> None:
    assert fields.load_json(b'{"bhxh": "0123456789", "n": [1, 2.5]}') == {
        "bhxh": "0123456789",
        "n": [1, 2.5],
    }
