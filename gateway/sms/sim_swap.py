"""The SIM swap check: did the sender's SIM change recently? (CAMARA SIM Swap API, ``/check``)

A thief who has the victim's number moved to a new SIM receives the SMS reset. Before a reset,
the worker asks the carrier that delivered the message ``POST {url}/check {"phoneNumber":
"+84…", "maxAge": <hours>}`` with a two-legged OAuth2 token (client credentials) and refuses
the reset when it answers ``{"swapped": true}``. A check that fails never raises: its result is
``UNKNOWN``, and ``GATEWAY_SIM_SWAP_ON_ERROR`` (open or closed) decides whether that refuses the
reset. Every result is counted in ``gateway_sim_swap_checks_total{carrier,result}``.

The decision calls :meth:`SimSwapChecks.verdicts` once per batch (or :func:`swapped_phones` for
one carrier), then :func:`refusal` and :func:`record_check` per message. The HTTP client is
``gateway.sms.camara``; docs/sim-swap.md tells the whole story.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from sqlalchemy.orm import Session

from billing.outcomes import Outcome
from gateway.delivery.replies import Reply
from gateway.ops.audit import record_event
from gateway.ops.metrics import count_sim_swap_check
from gateway.settings import Settings
from gateway.sms.camara import CheckFailed, FakeSimSwapClient, Result, SimSwapClient, SimSwapPort
from parsers import mask_phone

__all__ = [
    "AUDIT_ACTION",
    "FakeSimSwapClient",
    "Refusal",
    "Result",
    "SimSwapChecks",
    "Verdict",
    "record_check",
    "refusal",
    "swapped_phones",
]

log = logging.getLogger(__name__)

AUDIT_ACTION = "sim_swap_check"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One phone's check: the carrier's answer and whether the SMS reset must be refused."""

    result: Result
    refuse: bool  # SWAPPED, or UNKNOWN under GATEWAY_SIM_SWAP_ON_ERROR=closed
    error: str | None = None  # why the result is UNKNOWN (for logs and the audit; no personal data)

    @property
    def label(self) -> str:
        """Name the result as the metric and the audit do."""
        if self.result is not Result.UNKNOWN:
            return str(self.result.value)
        return "failed_closed" if self.refuse else "failed_open"


@dataclass(frozen=True, slots=True)
class Refusal:
    """How a refused reset ends: the message's outcome and the reply to send."""

    outcome: Outcome
    reply: Reply


def refusal(verdict: Verdict | None) -> Refusal | None:
    """Return how to end a reset that this verdict refuses, or None if the reset may go on.

    A SIM that changed gets its own outcome and reply (refundable, pointing to the free ways that
    do not trust the phone). A check that failed under "closed" is our system failing, not the
    citizen's SIM: ``system_error``, whose reply asks to try again later (refundable too).
    """
    if verdict is None or not verdict.refuse:
        return None
    if verdict.result is Result.SWAPPED:
        return Refusal(Outcome.SIM_SWAPPED, Reply.SIM_SWAPPED)
    return Refusal(Outcome.SYSTEM_ERROR, Reply.SYSTEM_ERROR)


def record_check(
    session: Session,
    verdict: Verdict,
    *,
    carrier: str,
    phone: str,
    now: dt.datetime,
    max_age_hours: int,
    account_id: int | None = None,
) -> None:
    """Audit one check that did not simply clear the phone (swapped, or failed either way).

    A plain ``not_swapped`` leaves no row: the message's own ``recovery`` row tells the rest.
    """
    if verdict.result is Result.NOT_SWAPPED:
        return
    detail = f"via {carrier}, maxAge {max_age_hours}h"
    if verdict.error:
        detail += f": {verdict.error}"
    record_event(
        session,
        action=AUDIT_ACTION,
        channel="sms",
        outcome=verdict.label,
        subject=mask_phone(phone),
        account_id=account_id,
        detail=detail,
        now=now,
    )


class SimSwapChecks:
    """The SIM swap clients of every carrier that has one, and the policy for failed checks.

    Build one per worker process with :meth:`from_settings` (no connection, no thread yet) and
    :meth:`close` it at shutdown. Tests of the decision pass in-memory clients instead:
    ``SimSwapChecks({"viettel": FakeSimSwapClient({"84912345678"})}, fail_closed=False,
    timeout=1, workers=2)``.
    """

    def __init__(
        self,
        clients: Mapping[str, SimSwapPort],
        *,
        fail_closed: bool,
        timeout: float,
        workers: int,
    ) -> None:
        self._clients = dict(clients)
        self._fail_closed = fail_closed
        self._timeout = timeout
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Callable[[], float] = time.monotonic
    ) -> SimSwapChecks:
        """Build the clients of the carriers with CARRIER_<NAME>_SIM_SWAP_URL."""
        policy = settings.sim_swap
        clients: dict[str, SimSwapPort] = {
            name: SimSwapClient(
                carrier,
                carrier.sim_swap,
                max_age_hours=policy.max_age_hours,
                max_connections=policy.concurrency,
                clock=clock,
            )
            for name, carrier in settings.carriers.items()
            if carrier.sim_swap is not None
        }
        return cls(
            clients,
            fail_closed=policy.fail_closed,
            timeout=policy.timeout,
            workers=policy.concurrency,
        )

    def enabled(self, carrier: str) -> bool:
        """Tell whether this carrier's senders are checked."""
        return carrier in self._clients

    def verdicts(self, senders: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Verdict]:
        """Check many ``(carrier, phone)`` at once; return a verdict for each checked one.

        Senders of carriers without a check get no entry. Each distinct pair is asked once, at
        most GATEWAY_SIM_SWAP_CONCURRENCY at a time; whatever has not answered within
        GATEWAY_SIM_SWAP_TIMEOUT of the call is UNKNOWN ("timed out"). Never raises.
        """
        wanted = list(dict.fromkeys(s for s in senders if s[0] in self._clients))
        if not wanted:
            return {}
        deadline = time.monotonic() + self._timeout
        pool = self._executor()
        futures = {
            sender: pool.submit(self._clients[sender[0]].check, sender[1], deadline)
            for sender in wanted
        }
        wait(futures.values(), timeout=max(0.0, deadline - time.monotonic()))
        return {sender: self._verdict(sender, future) for sender, future in futures.items()}

    def close(self) -> None:
        """Stop the threads (without waiting for checks in flight) and close the sessions."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
        for client in self._clients.values():
            client.close()

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="sim-swap")
            return self._pool

    def _verdict(self, sender: tuple[str, str], future: Future[Result]) -> Verdict:
        carrier, phone = sender
        error: str | None
        if not future.done():
            future.cancel()  # still queued: never sent; already sent: its answer is ignored
            error = "timed out"
        else:
            try:
                result = future.result()
            except CheckFailed as exc:
                error = str(exc)
            except Exception:  # a bug here must not stop the batch: it is a failed check
                log.exception("SIM swap check of %s via %s raised", mask_phone(phone), carrier)
                error = "internal error"
            else:
                verdict = Verdict(result, refuse=result is Result.SWAPPED)
                count_sim_swap_check(carrier, verdict.label)
                return verdict
        verdict = Verdict(Result.UNKNOWN, refuse=self._fail_closed, error=error)
        log.warning(
            "SIM swap check of %s via %s failed (%s): reset %s",
            mask_phone(phone),
            carrier,
            error,
            "refused" if verdict.refuse else "let through",
        )
        count_sim_swap_check(carrier, verdict.label)
        return verdict


def swapped_phones(checks: SimSwapChecks, carrier: str, phones: Iterable[str]) -> frozenset[str]:
    """Return the phones of one carrier whose SMS reset must be refused (swapped, failed closed)."""
    found = checks.verdicts((carrier, phone) for phone in phones)
    return frozenset(phone for (_, phone), verdict in found.items() if verdict.refuse)
