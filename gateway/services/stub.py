"""A stand-in for the agency's systems, for the demo and the tests: ``gateway service-stub``.

It keeps the service's half of the contract (docs/services.md): it refuses a request whose
Standard Webhooks signature does not verify with the service's secret (401), answers a repeated
``webhook-id`` with its first answer without looking again, and answers from a CSV of
``service,argument,reply`` rows: ``answered`` with the row's reply, else ``not_found``.
"""

from __future__ import annotations

import csv
import http
import json
import logging
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from gateway.settings import ServiceSettings

log = logging.getLogger(__name__)
DEMO_ANSWERS = Path(__file__).with_name("demo_answers.csv")
PREFIX = "/services/"
MAX_BODY = 16384
NOT_FOUND = "Khong tim thay thong tin cho ma {argument}. Kiem tra lai ma so hoac goi 1900 9068."


def read_answers(path: Path) -> dict[tuple[str, str], str]:
    """Read ``service,argument,reply`` rows (a header line first)."""
    with path.open(newline="", encoding="utf-8") as file:
        return {
            (row["service"].strip().lower(), row["argument"].strip().upper()): row["reply"]
            for row in csv.DictReader(file)
        }


class StubService:
    """A WSGI app answering POST /services/<name> for each of ``services``."""

    def __init__(
        self, services: Iterable[ServiceSettings], answers: Mapping[tuple[str, str], str]
    ) -> None:
        self._hooks = {service.name: Webhook(service.secret) for service in services}
        self._answers = answers
        self._lock = threading.Lock()
        self.answered: dict[str, tuple[int, bytes]] = {}  # by webhook-id: the first answer
        self.received: list[str] = []  # every webhook-id that verified, repeats included

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        hook = self._hooks.get(path.removeprefix(PREFIX)) if path.startswith(PREFIX) else None
        if environ.get("REQUEST_METHOD") != "POST" or hook is None:
            return _respond(start_response, 404, {"error": "no such service"})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY:
            return _respond(start_response, 413, {"error": "too large"})
        body = environ["wsgi.input"].read(length)
        headers = {
            name: environ.get("HTTP_" + name.upper().replace("-", "_"), "")
            for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        }
        try:
            hook.verify(body, headers, json_parse=False)
        except WebhookVerificationError:
            return _respond(start_response, 401, {"error": "bad signature"})
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return _respond(start_response, 400, {"error": "not a JSON object"})
        status, answer = self.answer(headers["webhook-id"], request)
        return _respond(start_response, status, answer)

    def answer(self, webhook_id: str, request: dict[str, Any]) -> tuple[int, bytes]:
        """Answer one verified request; a repeated webhook-id gets its first answer."""
        with self._lock:
            self.received.append(webhook_id)
            if webhook_id in self.answered:
                return self.answered[webhook_id]
            argument = str(request.get("argument", ""))
            reply = self._answers.get((str(request.get("service", "")), argument.upper()))
            if reply is None:
                result = {"outcome": "not_found", "reply": NOT_FOUND.format(argument=argument)}
            else:
                result = {"outcome": "answered", "reply": reply}
            self.answered[webhook_id] = (200, json.dumps(result).encode())
            return self.answered[webhook_id]


def _respond(start_response: Any, status: int, body: bytes | dict[str, str]) -> list[bytes]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    reason = http.HTTPStatus(status).phrase
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]
