"""The thin send: one signed POST to a service with its timeout, library errors turned into
ForwardFailed."""

from __future__ import annotations

import datetime as dt

import requests

from gateway.services.contract import MAX_ANSWER_BYTES, Answer, read_answer
from gateway.services.errors import ForwardFailed
from gateway.settings import ServiceSettings


def post(service: ServiceSettings, body: bytes, headers: dict[str, str]) -> Answer:
    """POST a signed forward to ``service``; return its answer or raise ForwardFailed."""
    try:
        with requests.post(
            service.url, data=body, headers=headers, timeout=service.timeout, stream=True
        ) as response:
            if response.status_code != 200:
                raise ForwardFailed(f"http_{response.status_code}")
            answer = response.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
    except requests.Timeout:
        raise ForwardFailed("timeout") from None
    except requests.RequestException as exc:
        raise ForwardFailed("unreachable", type(exc).__name__) from None
    return read_answer(answer)


def wall_clock() -> dt.datetime:
    """The real time, for the signature's timestamp (the service checks it against its own)."""
    return dt.datetime.now(dt.UTC)
