"""SOAP as the Vietnamese MO-receiver convention uses it (docs/vnmo.md): one operation in the
Body with its fields as leaf elements, answered by that operation's Response holding one code.

Pure: bytes in, bytes out. A DTD is refused before the XML parser sees the body.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape

from gateway.carriers.base import Answer
from gateway.carriers.wire import WebhookRequest
from gateway.errors import InvalidPayload

SOAP_11 = "http://schemas.xmlsoap.org/soap/envelope/"
_NAME = re.compile(r"^[A-Za-z_][\w.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Call:
    """One SOAP request: its envelope's namespace, its operation and the operation's fields."""

    envelope: str  # SOAP 1.1's namespace, or 1.2's
    operation: ET.Element
    fields: dict[str, str]  # local name -> text, for every leaf under the operation


def is_soap(request: WebhookRequest) -> bool:
    """Tell a SOAP request from a form by its media type or its first byte."""
    return request.mimetype in ("text/xml", "application/soap+xml", "application/xml") or (
        request.method == "POST" and request.body.lstrip()[:1] == b"<"
    )


def read_call(body: bytes) -> Call:
    """Read the operation inside a SOAP Body, or raise InvalidPayload."""
    head = body[:4096].upper()
    # No DTDs: they are where entity expansion ("billion laughs") and external entities live.
    if b"<!DOCTYPE" in head or b"<!ENTITY" in body.upper():
        raise InvalidPayload("DTDs are not accepted")
    try:
        root = ET.fromstring(body)  # noqa: S314 - no DTD can reach this line
    except ET.ParseError:
        raise InvalidPayload("body is not well-formed XML") from None
    soap_body = next((el for el in root if _local(el.tag).lower() == "body"), None)
    operation = next(iter(soap_body), None) if soap_body is not None else None
    if operation is None:
        raise InvalidPayload("no operation inside the SOAP Body")
    # Leaves anywhere under the operation: some specs wrap the fields in one more element.
    fields = {
        _local(el.tag): el.text or ""
        for el in operation.iter()
        if el is not operation and not len(el)
    }
    envelope = _namespace(root.tag) if root.tag.startswith("{") else SOAP_11
    return Call(envelope, operation, fields)


def answer(body: bytes, result: str, code: str, default_operation: str) -> Answer:
    """Answer the call in ``body`` with ``<result>code</result>`` in its operation's Response.

    A body that cannot be read is answered as a SOAP 1.1 call of ``default_operation``.
    """
    envelope, name, namespace = SOAP_11, default_operation, ""
    try:
        call = read_call(body)
    except InvalidPayload:
        pass
    else:
        local = _local(call.operation.tag)
        envelope = call.envelope
        name = local if _NAME.match(local) else default_operation
        namespace = _namespace(call.operation.tag)
    ns_attr = f' xmlns:m="{escape(namespace, {chr(34): "&quot;"})}"' if namespace else ""
    prefix = "m:" if namespace else ""
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{escape(envelope, {chr(34): "&quot;"})}"><soap:Body>'
        f"<{prefix}{name}Response{ns_attr}><{result}>{code}</{result}>"
        f"</{prefix}{name}Response></soap:Body></soap:Envelope>"
    )
    media = "text/xml" if envelope == SOAP_11 else "application/soap+xml"
    return Answer(200, xml.encode(), f"{media}; charset=utf-8")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}")[0] if tag.startswith("{") else ""
