"""What finance's use cases refuse; each refusal carries a code that the doors word.

FinanceRefused        a request no use case can serve, with ``code``:
    ``days_reversed``     the first day is after the last
    ``unknown_carrier``   a carrier neither configured nor in the ledger
    ``bad_file``          a carrier file or column mapping that cannot be read (nothing compared);
                          ``problems`` lists ``(line, reason)`` pairs for a door to word
    ``reason_required``   a forced refund (outside the policy) without a reason

The English ``reason`` names the CLI's options (``--from``, ``--to``), as ``billing`` does; the
API and the console reword it for their own field names.
"""

from __future__ import annotations

from gateway.errors import GatewayError


class FinanceRefused(GatewayError):
    """A finance request refused before anything is read or written; ``code`` says why."""

    def __init__(
        self, code: str, reason: str, problems: list[tuple[int, str]] | None = None
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.problems = problems or []
