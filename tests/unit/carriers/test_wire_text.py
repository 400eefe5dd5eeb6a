"""decode_text: the charsets carriers name, read as text; anything else refused, never raised."""

from __future__ import annotations

import contextlib
import encodings
import encodings.aliases
import pkgutil

import pytest

from gateway.carriers import wire
from gateway.errors import InvalidPayload


@pytest.mark.parametrize(
    ("charset", "raw", "text"),
    [
        (None, "BH MK 0123456789 gửi".encode(), "BH MK 0123456789 gửi"),
        ("utf-8", "gửi".encode(), "gửi"),
        ("UTF8", "gửi".encode(), "gửi"),
        ("utf_8", "gửi".encode(), "gửi"),
        ("utf-16", "\ufeffgửi".encode("utf-16-le"), "gửi"),  # the BOM says which end
        ("utf-16le", "gửi".encode("utf-16-le"), "gửi"),
        ("iso-8859-1", b"BH MK \xe9", "BH MK é"),
        ("latin-1", b"BH MK \xe9", "BH MK é"),
        ("windows-1252", b"\x80 100", "€ 100"),
        ("us-ascii", b"BH MK 0123456789", "BH MK 0123456789"),
        ("windows-1258", b"\xf0\xf5n", "đơn"),  # Vietnamese, if a carrier sends it
    ],
)
def test_text_encodings_are_read(charset: str | None, raw: bytes, text: str) -> None:
    assert wire.decode_text(raw, ucs2=False, charset=charset) == text


@pytest.mark.parametrize(
    "charset",
    [
        # Codecs Python knows but that turn bytes into bytes: no text can ever come out.
        "rot13",
        "rot-13",
        "zlib",
        "zlib_codec",
        "base64",
        "hex",
        "bz2",
        "quopri",
        "uu",
        # Text codecs by Python's flag, but they read escape sequences, not characters.
        "unicode_escape",
        "raw-unicode-escape",
        # Names nobody knows, or that are not names at all.
        "no-such-charset",
        "utf\x008",  # bytes.decode raises ValueError on the NUL
        "utf-8\udc80",  # and UnicodeEncodeError on the surrogate
        "u" * 41,
        "../encodings/utf_8",
    ],
)
def test_a_charset_that_is_not_a_text_encoding_is_refused(charset: str) -> None:
    with pytest.raises(InvalidPayload, match="is not a known text encoding"):
        wire.decode_text(b"BH MK 0123456789", ucs2=False, charset=charset)


@pytest.mark.parametrize(
    ("charset", "raw"),
    [
        ("utf-8", b"BH MK \xff"),
        ("us-ascii", b"BH MK \xe9"),
        ("undefined", b"BH MK"),  # a text codec that refuses everything, with UnicodeError
        ("idna", b"xn--abc"),  # UnicodeError too, not UnicodeDecodeError
    ],
)
def test_bytes_that_a_text_encoding_cannot_read_are_refused(charset: str, raw: bytes) -> None:
    with pytest.raises(InvalidPayload, match="text is not valid"):
        wire.decode_text(raw, ucs2=False, charset=charset)


def every_codec_name() -> list[str]:
    names = set(encodings.aliases.aliases) | set(encodings.aliases.aliases.values())
    names |= {module.name for module in pkgutil.iter_modules(encodings.__path__)}
    return sorted(names)


def test_every_codec_python_ships_either_reads_or_refuses() -> None:
    hostile = [b"", b"\xff\xfe\x00", b"\\N{x}\\ud800", b"+AGE-", b"xn--abc", bytes(range(256))]
    for name in every_codec_name():
        for raw in hostile:
            with contextlib.suppress(InvalidPayload):
                wire.decode_text(raw, ucs2=False, charset=name)
