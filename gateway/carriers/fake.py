"""An in-memory carrier for tests and local development: it keeps what it is given."""

from __future__ import annotations

import threading
from collections import deque

from gateway.carriers.base import OutboundSms, SendReceipt
from gateway.errors import SendError


class FakeTransport:
    """Accepts every message, unless told to fail the next few sends."""

    def __init__(self) -> None:
        self.sent: list[OutboundSms] = []
        self._failures: deque[SendError] = deque()
        self._lock = threading.Lock()

    def fail_next(self, *errors: SendError) -> None:
        """Make the next sends raise these errors, one per send."""
        with self._lock:
            self._failures.extend(errors)

    def send(self, sms: OutboundSms) -> SendReceipt:
        """Record the message, or raise the next queued failure."""
        with self._lock:
            if self._failures:
                raise self._failures.popleft()
            self.sent.append(sms)
            return SendReceipt(carrier_reference=f"fake-{len(self.sent)}")

    def texts_to(self, recipient: str) -> list[str]:
        """Return the texts sent to one phone, oldest first."""
        return [sms.text for sms in self.sent if sms.recipient == recipient]
