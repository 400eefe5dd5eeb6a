"""Logging for every process: one root handler, plain or JSON lines, personal data masked.

``configure(settings)`` is called once per process by whatever starts it: the CLI and
``gunicorn.conf.py``. The app factory never touches logging, so tests can build many apps.
Each line carries the id of the HTTP request being handled (``-`` outside a request). As a
safety net under the rule that code logs only masked values, every line's message and
traceback have their long digit runs (phone numbers, social insurance and ID numbers) masked.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from typing import TextIO

from gateway.settings import Settings
from parsers import mask_id

REQUEST_ID_HEADER = "X-Request-Id"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
NO_REQUEST = "-"

request_id: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)

# A caller's id is echoed in every line and header, so only short plain tokens are taken.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
# Nine or more digits in a row, even glued to letters: phone numbers in every form of DOMAIN.md
# (0912345678, 84912345678, +84..., 0084...) and 10/12-digit insurance and ID numbers. Grouped
# ("0912 345 678", "+84 912.345.678") only after a phone prefix, so that "200 6005 39ms" and
# dates stay readable.
_DIGIT_RUN = re.compile(
    r"(?<![\d+])(?:\+?\d{9,}|(?:\+?84|0)[ .]?\d{1,3}(?:[ .]\d{2,4}){2,4})(?!\d)"
)


def configure(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's records through one masked handler on the root logger."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "gateway_handler", False)]:
        root.removeHandler(old)
        old.close()
    handler = build_handler(settings.log_format, stream or sys.stderr)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    return handler


def build_handler(log_format: str, stream: TextIO) -> logging.Handler:
    """Return a stream handler with the request id, masking and the chosen format."""
    handler = logging.StreamHandler(stream)
    handler.gateway_handler = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    handler.addFilter(MaskingFilter())
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(PLAIN_FORMAT)
    )
    return handler


def accept_request_id(header: str | None) -> str:
    """Return the caller's request id if it is a sane short token, else a new one."""
    if header and _SANE_REQUEST_ID.fullmatch(header) and not _DIGIT_RUN.search(header):
        return header
    return uuid.uuid4().hex


def mask_digits(text: str) -> str:
    """Mask every run of nine or more digits, whatever its grouping."""
    return _DIGIT_RUN.sub(lambda match: mask_id(re.sub(r"\D", "", match[0])), text)


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request being handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class MaskingFilter(logging.Filter):
    """Mask digit runs in the message, the traceback and the stack of each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The record is rewritten in place: every later handler gets the masked text too.
        record.msg = mask_digits(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_digits(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_digits(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", NO_REQUEST),
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False)
