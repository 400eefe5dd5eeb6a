"""In-memory senders for tests and local development: they keep what they are given."""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

from gateway.carriers.base import OutboundSms, SendReceipt
from gateway.errors import SendError

Sent = TypeVar("Sent")


class Recorder(Generic[Sent]):
    """Accepts everything it is given to send, unless told to fail the next few sends."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self._failures: deque[SendError] = deque()
        self._lock = threading.Lock()

    def fail_next(self, *errors: SendError) -> None:
        """Make the next sends raise these errors, one per send."""
        with self._lock:
            self._failures.extend(errors)

    def send(self, item: Sent) -> SendReceipt:
        """Record ``item``, or raise the next queued failure."""
        with self._lock:
            if self._failures:
                raise self._failures.popleft()
            self.sent.append(item)
            return self._receipt(item)

    def _receipt(self, item: Sent) -> SendReceipt:
        raise NotImplementedError


class FakeTransport(Recorder[OutboundSms]):
    """A carrier that accepts every message, unless told to fail the next few sends."""

    def _receipt(self, item: OutboundSms) -> SendReceipt:
        return SendReceipt(carrier_reference=f"fake-{len(self.sent)}")

    def texts_to(self, recipient: str) -> list[str]:
        """Return the texts sent to one phone, oldest first."""
        return [sms.text for sms in self.sent if sms.recipient == recipient]
