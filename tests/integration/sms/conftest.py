"""The transcripts run twice: decided in batches, and decided one by one after a failed batch.

A module that says ``pytestmark = pytest.mark.usefixtures("sms_path")`` runs each of its tests
once as the worker runs it (``batch``) and once with every batch crashing after it wrote its
rows, so that the fallback decides each message alone (``one_by_one``). After the second run
of a test, the outcomes, ledger rows, replies and audit rows of the two runs must be the same:
this is what proves the fallback decides by the same rules, prices the same and answers the
same, over the whole transcript corpus.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import select

from billing.ledger import LedgerEntry
from gateway.carriers.fake import FakeTransport
from gateway.models import AuditEvent, InboundMessage, OutboxMessage, PasswordIssue
from gateway.runtime import Runtime
from gateway.sms import batch_store, recovery

PASSWORD = re.compile(r"Mat khau: [A-Z2-9]{10}\.")
_first_runs: dict[tuple[Any, ...], tuple[str, dict[str, list[Any]]]] = {}


@pytest.fixture(params=["batch", "one_by_one"])
def sms_path(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    runtime: Runtime,
    carriers: dict[str, FakeTransport],
) -> Iterator[str]:
    """Decide in batches, or one by one after each batch fails; compare the pair's results."""
    path: str = request.param
    if path == "one_by_one":
        _crash_every_batch(monkeypatch)
    yield path
    seen = snapshot(runtime, carriers)
    params = getattr(request.node, "callspec", None)
    others = {} if params is None else {k: v for k, v in params.params.items() if k != "sms_path"}
    key = (request.node.module.__name__, request.node.originalname, repr(sorted(others.items())))
    if key not in _first_runs:
        _first_runs[key] = (path, seen)
        return
    first_path, first = _first_runs.pop(key)
    assert first_path != path
    assert seen == first, f"{path} differs from {first_path}"


def _crash_every_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    # A batch of the worker's (no ids) writes every row, then fails before it commits, as a
    # database or a bug would; the fallback's batches of one (ids given) run as they are.
    real_batch, real_flush = recovery.process_batch, batch_store.Writes.flush
    whole = [False]

    def batch(
        session_factory: Any, context: Any, limit: int, ids: Sequence[int] | None = None
    ) -> Any:
        whole[0] = ids is None
        try:
            return real_batch(session_factory, context, limit, ids)
        finally:
            whole[0] = False

    def flush(self: batch_store.Writes, session: Any) -> None:
        real_flush(self, session)
        if whole[0]:
            raise RuntimeError("the batch crashed before it committed")

    monkeypatch.setattr(recovery, "process_batch", batch)
    monkeypatch.setattr(batch_store.Writes, "flush", flush)


# The columns compared; ids, the carriers' message ids (a counter shared by the tests) and the
# passwords (random) differ by chance: messages are named by their place instead.
MESSAGE = "sender carrier status outcome replied account_id attempts last_error processed_at"
CHARGE = "carrier shortcode phone amount_vnd kind outcome tariff created_at message_at"
OUTBOX = "channel carrier recipient subject text safe_text status delivery_status"
AUDIT = "at account_id actor subject action channel outcome detail"
ISSUE = "account_id channel issued_at"


def snapshot(runtime: Runtime, carriers: dict[str, FakeTransport]) -> dict[str, list[Any]]:
    """What a transcript left behind: messages, charges, replies, audit rows, new passwords."""
    with runtime.session_factory() as session:
        messages = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        place = {message.id: n for n, message in enumerate(messages)}

        def rows(model: Any, columns: str) -> list[tuple[Any, ...]]:
            found = session.scalars(select(model).order_by(model.id)).all()
            return [
                (place.get(getattr(row, "message_id", None)), *_values(row, columns))
                for row in found
            ]

        return {
            "messages": rows(InboundMessage, MESSAGE),
            "ledger": rows(LedgerEntry, CHARGE),
            "outbox": rows(OutboxMessage, OUTBOX),
            "replies": [
                (name, sms.sender, sms.recipient, sms.route, _masked(sms.text))
                for name, transport in sorted(carriers.items())
                for sms in transport.sent
            ],
            "audit": rows(AuditEvent, AUDIT),
            "issues": rows(PasswordIssue, ISSUE),
        }


def _values(row: Any, columns: str) -> list[Any]:
    values = [getattr(row, column) for column in columns.split()]
    return [_masked(value) if isinstance(value, str) else value for value in values]


def _masked(text: str) -> str:
    return PASSWORD.sub("Mat khau: **********.", text)
