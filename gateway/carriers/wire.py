"""HTTP as the adapters see it: a captured request, URL-token checks, text decoding, one call.

Everything here but :func:`call` is pure, so each adapter's parse functions can be tested
against requests recorded from the real carrier gateways (tests/payloads/).
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import hmac
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import parse_qsl

import requests

from gateway import fields
from gateway.errors import BadSignature, InvalidPayload, PermanentSendError, RetryableSendError
from gateway.settings import CarrierSettings
from parsers import InvalidPhoneNumber, normalise_phone

MAX_ID_LENGTH = 128
MAX_ROUTE_LENGTH = 64  # inbound_messages.route and outbox_messages.route
MAX_TEXT_LENGTH = 1600  # ten concatenated parts; anything longer is not an SMS
UCS2_CHARSETS = frozenset({"utf-16be", "utf-16", "ucs-2", "ucs2", "iso-10646-ucs-2"})
# What a charset name may look like (RFC 2978: at most 40 characters; IANA's names also use
# "." and ":"). Anything else is refused before Python's codec search sees it.
_CHARSET_NAME = re.compile(r"[A-Za-z0-9._:+-]{1,40}")
_ESCAPE_CODECS = frozenset({"unicode-escape", "raw-unicode-escape"})


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One HTTP request from a carrier gateway, as bytes, with no framework attached."""

    method: str
    query: bytes  # the raw query string, still percent-encoded
    headers: Mapping[str, str]  # case-insensitive in practice: look names up with header()
    body: bytes = b""
    remote_addr: str | None = None
    _lower: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lowered = {name.lower(): value for name, value in self.headers.items()}
        object.__setattr__(self, "_lower", lowered)

    def header(self, name: str) -> str | None:
        """Return a header's value, whatever the case of its name."""
        return self._lower.get(name.lower())

    @property
    def mimetype(self) -> str:
        """Return the media type of the body, lower-case, without parameters."""
        return _content_type(self.header("Content-Type")).get_content_type()

    @property
    def charset(self) -> str | None:
        """Return the charset parameter of the Content-Type, lower-case, if any."""
        value = _content_type(self.header("Content-Type")).get_param("charset")
        return value.lower() if isinstance(value, str) and value else None

    def query_params(self) -> dict[str, bytes]:
        """Return the URL's parameters as raw bytes (a UCS-2 text is not UTF-8)."""
        return raw_params(self.query)

    def form_params(self) -> dict[str, bytes]:
        """Return the parameters of a form body (POST) or of the URL (GET)."""
        if self.method == "GET":
            return self.query_params()
        if self.mimetype != "application/x-www-form-urlencoded" and self.body.lstrip()[:1] == b"<":
            raise InvalidPayload("expected form fields, got XML")
        return raw_params(self.body)


def raw_params(encoded: bytes) -> dict[str, bytes]:
    """Decode ``a=1&b=%00B`` into bytes values; the first of a repeated name wins."""
    params: dict[str, bytes] = {}
    # latin-1 maps every byte to one code point, so the round trip below is lossless.
    for name, value in parse_qsl(
        encoded.decode("latin-1"), keep_blank_values=True, encoding="latin-1"
    ):
        params.setdefault(name, value.encode("latin-1"))
    return params


def verify_caller(request: WebhookRequest, carrier: CarrierSettings) -> None:
    """Refuse a caller outside CARRIER_<NAME>_ALLOW_IPS (empty: anyone may call)."""
    if not carrier.allow_ips:
        return
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        raise BadSignature("caller address not allowed") from None
    if not any(address in network for network in carrier.allow_ips):
        raise BadSignature("caller address not allowed")


def verify_token(request: WebhookRequest, carrier: CarrierSettings) -> None:
    """Refuse a request whose ``token`` URL parameter is not the carrier's secret."""
    verify_caller(request, carrier)
    given = request.query_params().get("token", b"")
    # compare_digest takes as long whatever the first differing byte: no timing oracle.
    if not hmac.compare_digest(given, carrier.secret.encode()):
        raise BadSignature("token missing or wrong")


def decode_text(
    raw: bytes, *, ucs2: bool, eight_bit: bool = False, charset: str | None = None
) -> str:
    """Decode an SMS body: UCS-2 as UTF-16BE, 8-bit as UTF-8 when valid else Latin-1.

    A named charset must be a text encoding (see :func:`_text_codec`); a message that can never
    be read is refused like any malformed one, with the carrier's 4xx, since a 5xx would only
    have the carrier send it again and again.
    """
    if ucs2:
        encoding = "utf-16-be"
    elif eight_bit:
        try:
            return _checked(raw.decode("utf-8"))
        except UnicodeDecodeError:
            encoding = "latin-1"
    else:
        encoding = _text_codec(charset or "utf-8")
    try:
        text = raw.decode(encoding)
    except UnicodeError:  # UnicodeDecodeError, and the bare UnicodeError of idna or undefined
        raise InvalidPayload(f"text is not valid {encoding}") from None
    return _checked(text.removeprefix("\ufeff"))


def _text_codec(charset: str) -> str:
    """Return the codec that reads a charset as text, or refuse the name.

    Any text encoding Python knows is read (utf-8, iso-8859-1, windows-1258, ...): Kannel's
    alt-charset may name any of them. Refused: an unknown name; a codec that turns bytes into
    bytes (rot13, zlib, base64, hex: Python's own flag, which ``bytes.decode`` checks too);
    and the escape codecs, which read ``\\u0041`` rather than characters.
    """
    codec = None
    if _CHARSET_NAME.fullmatch(charset):
        with contextlib.suppress(LookupError):  # an unknown name
            codec = codecs.lookup(charset)
    if codec is None or not codec._is_text_encoding or codec.name in _ESCAPE_CODECS:
        raise InvalidPayload(f"charset {charset[:40]!r} is not a known text encoding")
    return codec.name


def text_field(value: bytes | None, name: str) -> str:
    """Return an ASCII/UTF-8 parameter (an id, a number) as text, or refuse it."""
    if value is None:
        raise InvalidPayload(f"{name} is required")
    try:
        decoded = value.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InvalidPayload(f"{name} is not UTF-8") from None
    return fields.clean_text(decoded, name)


def nonempty(value: str, name: str) -> str:
    """Refuse an empty value (a recipient, a shortcode)."""
    if not value:
        raise InvalidPayload(f"{name} must not be empty")
    return value


def route(value: str | None) -> str | None:
    """Keep the name of the connection a message came in on (an SMSC, a connector, an operator)."""
    return value[:MAX_ROUTE_LENGTH] if value else None


def identifier(value: str, name: str) -> str:
    """Check a carrier's message id: 1 to 128 printable characters."""
    if not value or len(value) > MAX_ID_LENGTH or not value.isprintable():
        raise InvalidPayload(f"{name} must be 1 to {MAX_ID_LENGTH} printable characters")
    return value


def phone(value: str, name: str) -> str:
    """Normalise a sender to 84 + 9 digits, or refuse it."""
    try:
        return normalise_phone(value)
    except InvalidPhoneNumber as exc:
        raise InvalidPayload(f"{name}: {exc}") from None


def unix_time(value: str, name: str) -> dt.datetime:
    """Read unix seconds (Kannel's %T) as an aware UTC datetime."""
    return fields.unix_seconds(value, name)


def number(value: bytes | None, name: str) -> int:
    """Read a required parameter of ASCII digits (a status, a coding) as an int."""
    return int(fields.digits(text_field(value, name), name, max_length=9))


def status_error(status: int) -> PermanentSendError | RetryableSendError | None:
    """Map an MT answer's HTTP status: None for 2xx, retryable for 408/429/5xx."""
    if 200 <= status < 300:
        return None
    if status in (408, 429) or status >= 500:
        return RetryableSendError(f"carrier answered {status}")
    return PermanentSendError(f"carrier answered {status}")


def call(
    http: requests.Session,
    method: str,
    url: str,
    *,
    timeout: float,
    data: bytes | Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, bytes]:
    """Make one MT request; translate requests' errors into our send errors."""
    try:
        response = http.request(method, url, data=data, headers=headers, timeout=timeout)
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise RetryableSendError(type(exc).__name__) from exc
    except requests.RequestException as exc:
        raise PermanentSendError(type(exc).__name__) from exc
    return response.status_code, response.content


def _checked(text: str) -> str:
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidPayload(f"text is longer than {MAX_TEXT_LENGTH} characters")
    return fields.clean_text(text, "text")


def _content_type(value: str | None) -> Message:
    message = Message()
    message["Content-Type"] = value or "application/octet-stream"
    return message
