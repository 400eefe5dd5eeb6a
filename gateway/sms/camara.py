"""A carrier's CAMARA SIM Swap API: ``POST {url}/check`` with a two-legged OAuth2 token.

Request ``{"phoneNumber": "+84…", "maxAge": <hours>}``, answer ``{"swapped": true|false}``,
errors as CAMARA ErrorInfo ``{"status", "code", "message"}`` (camaraproject/SimSwap,
``sim-swap.yaml``). The token comes from the carrier's token endpoint by client credentials
(RFC 6749 4.4), is kept until shortly before it expires, and is fetched again after a 401.
Anything short of an answer raises :class:`CheckFailed`, never a library's exception;
``gateway.sms.sim_swap`` turns that into a verdict.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import requests

from gateway.carriers.registry import http_session
from gateway.settings import CarrierSettings, SimSwapApi
from parsers import InvalidPhoneNumber, normalise_phone

# A token without expires_in (RFC 6749 only recommends it) is kept this long, or until a 401.
DEFAULT_TOKEN_SECONDS = 300
# Refresh this long before the token's announced end, so it does not expire in flight.
TOKEN_MARGIN_SECONDS = 30.0


class Result(enum.Enum):
    """What the carrier said about one phone."""

    SWAPPED = "swapped"
    NOT_SWAPPED = "not_swapped"
    UNKNOWN = "unknown"  # the check failed: error, timeout, refusal or a malformed answer


class CheckFailed(Exception):
    """The carrier gave no answer; ``str(exc)`` says why, without personal data or secrets."""


class SimSwapPort(Protocol):
    """What :class:`SimSwapClient` and :class:`FakeSimSwapClient` both do."""

    def check(self, phone: str, deadline: float) -> Result:
        """Answer for ``phone`` (``84…``) before ``deadline`` (time.monotonic), or CheckFailed."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class FakeSimSwapClient:
    """An in-memory carrier SIM swap API for the decision's tests: these phones changed SIM."""

    def __init__(self, swapped: Iterable[str] = (), *, failure: str | None = None) -> None:
        self.swapped = set(swapped)  # 84… numbers
        self.failure = failure  # set: every check fails with this reason
        self.asked: list[str] = []

    def check(self, phone: str, deadline: float) -> Result:
        """Answer from memory, or fail as told."""
        self.asked.append(phone)
        if self.failure is not None:
            raise CheckFailed(self.failure)
        return Result.SWAPPED if phone in self.swapped else Result.NOT_SWAPPED

    def close(self) -> None:
        """Nothing to release."""


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    refresh_at: float  # on the client's clock


class SimSwapClient:
    """One carrier's SIM swap API: one HTTP session and one cached OAuth2 token."""

    def __init__(
        self,
        carrier: CarrierSettings,
        api: SimSwapApi,
        *,
        max_age_hours: int,
        max_connections: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.carrier = carrier.name
        self._api = api
        self._max_age = max_age_hours
        self._clock = clock
        # The replies' session builder: proxies and CA bundle read once, a pool as wide as the
        # checks in flight.
        self._http = http_session(
            dataclasses.replace(carrier, mt_url=api.url, max_connections=max_connections)
        )
        self._token: _Token | None = None
        self._token_lock = threading.Lock()

    def check(self, phone: str, deadline: float) -> Result:
        """Ask whether ``phone`` (``84…``) changed SIM within maxAge; CheckFailed if unanswered."""
        try:
            e164 = "+" + normalise_phone(phone)
        except InvalidPhoneNumber as exc:
            raise CheckFailed("not a Vietnamese mobile number") from exc
        token = self._current_token(deadline)
        answer = self._post_check(e164, token, deadline)
        if answer.status_code == 401:
            # Revoked or expired before its announced end (CAMARA 401 UNAUTHENTICATED): once more
            # with a fresh token.
            self._forget(token)
            answer = self._post_check(e164, self._current_token(deadline), deadline)
        if answer.status_code != 200:
            raise CheckFailed(f"check answered {answer.status_code} {_error_code(answer)}".strip())
        try:
            body = answer.json()
        except ValueError as exc:
            raise CheckFailed("check answered malformed JSON") from exc
        swapped = body.get("swapped") if isinstance(body, dict) else None
        if not isinstance(swapped, bool):
            raise CheckFailed("check answered without a boolean 'swapped'")
        return Result.SWAPPED if swapped else Result.NOT_SWAPPED

    def close(self) -> None:
        """Close the HTTP session's connections."""
        self._http.close()

    def _post_check(self, e164: str, token: str, deadline: float) -> requests.Response:
        correlator = str(uuid.uuid4())
        try:
            return self._http.post(
                f"{self._api.url}/check",
                json={"phoneNumber": e164, "maxAge": self._max_age},
                headers={
                    "Authorization": f"Bearer {token}",
                    "Accept": "application/json",
                    "x-correlator": correlator,
                },
                timeout=_remaining(deadline),
            )
        except requests.Timeout as exc:
            raise CheckFailed(f"check timed out (x-correlator {correlator})") from exc
        except requests.RequestException as exc:
            raise CheckFailed(f"check failed: {type(exc).__name__}") from exc

    def _current_token(self, deadline: float) -> str:
        # One fetch at a time: a batch's checks start together and would each ask for a token.
        with self._token_lock:
            token = self._token
            if token is None or self._clock() >= token.refresh_at:
                token = self._token = self._fetch_token(deadline)
            return token.value

    def _forget(self, value: str) -> None:
        with self._token_lock:
            if self._token is not None and self._token.value == value:
                self._token = None

    def _fetch_token(self, deadline: float) -> _Token:
        # RFC 6749 2.3.1: the id and secret are form-encoded, then sent as HTTP Basic.
        auth = (
            urllib.parse.quote_plus(self._api.client_id),
            urllib.parse.quote_plus(self._api.client_secret),
        )
        form = {"grant_type": "client_credentials", "scope": self._api.scope}
        try:
            answer = self._http.post(
                self._api.token_url,
                data=form,
                auth=auth,
                headers={"Accept": "application/json"},
                timeout=_remaining(deadline),
            )
        except requests.Timeout as exc:
            raise CheckFailed("token endpoint timed out") from exc
        except requests.RequestException as exc:
            raise CheckFailed(f"token endpoint failed: {type(exc).__name__}") from exc
        if answer.status_code != 200:
            raise CheckFailed(
                f"token endpoint answered {answer.status_code} {_error_code(answer)}".strip()
            )
        try:
            body = answer.json()
        except ValueError as exc:
            raise CheckFailed("token endpoint answered malformed JSON") from exc
        if not isinstance(body, dict):
            raise CheckFailed("token endpoint answered without an access_token")
        value, kind = body.get("access_token"), body.get("token_type", "Bearer")
        if not isinstance(value, str) or not value or str(kind).lower() != "bearer":
            raise CheckFailed("token endpoint answered without a bearer access_token")
        lifetime = body.get("expires_in", DEFAULT_TOKEN_SECONDS)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_SECONDS
        margin = min(TOKEN_MARGIN_SECONDS, lifetime / 2)
        return _Token(value, self._clock() + lifetime - margin)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise CheckFailed("timed out")
    return left


def _error_code(answer: requests.Response) -> str:
    """The CAMARA ErrorInfo ``code`` (or OAuth2 ``error``) of an error answer, if it has one."""
    try:
        body = answer.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    code = body.get("code") or body.get("error") or ""
    return (
        str(code)[:40]
        if str(code).replace("_", "").isascii() and str(code).replace("_", "").isalnum()
        else ""
    )
