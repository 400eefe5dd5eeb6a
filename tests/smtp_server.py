"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, or refuses on demand."""

from __future__ import annotations

import socket
import threading
from collections import deque
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller


class Recorder:
    """The server's handler: answers DATA with the next queued refusal, else keeps the message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refusals: deque[str] = deque()
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.refusals:
                return self.refusals.popleft()
            message = message_from_bytes(envelope.content, policy=default)
            assert isinstance(message, EmailMessage)
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 OK: queued"


class SmtpServer:
    """An SMTP server on 127.0.0.1 at a free port, in a thread of its own."""

    def __init__(self) -> None:
        self.handler = Recorder()
        self.port = _free_port()
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._running = False

    def start(self) -> None:
        self._controller.start()
        self._running = True

    def stop(self) -> None:
        """Stop serving (for good: a stopped server cannot start again)."""
        if self._running:
            self._controller.stop()
            self._running = False

    def refuse_next(self, *answers: str) -> None:
        """Answer the next DATA commands with these replies (e.g. '451 4.3.0 Try again later')."""
        self.handler.refusals.extend(answers)

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self.handler.messages)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
