"""DKIM signatures on outbound mail (RFC 6376), with dkimpy, when a key is configured.

Receivers check the signature against the public key the deployment publishes at
``<selector>._domainkey.<domain>`` (docs/deploy.md, "Mail that arrives"); with SPF and a
DMARC policy it is what keeps our OTP emails out of spam folders and others' forgeries out of
inboxes. The domain is the one of GATEWAY_SMTP_FROM, so the signature aligns with From.
"""

from __future__ import annotations

from email.utils import parseaddr

import dkim

from gateway.settings import DkimKey

# Signed headers: those a forger would change; From is required (RFC 6376, 5.4).
SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
                  b"content-type", b"auto-submitted")  # fmt: skip


def sign(message: bytes, key: DkimKey, sender: str) -> bytes:
    """Return ``message`` with a DKIM-Signature header for the domain of ``sender``."""
    domain = parseaddr(sender)[1].rpartition("@")[2]
    signature = dkim.sign(
        message,
        key.selector.encode(),
        domain.encode("idna"),
        key.private_key,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=list(SIGNED_HEADERS),
    )
    return signature + message
