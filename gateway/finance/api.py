"""The charges export over HTTP, for finance's tools: the same CSV as ``gateway charges export``.

``GET /api/v1/finance/charges.csv?from=YYYY-MM-DD&to=YYYY-MM-DD[&carrier=NAME]`` with
``Authorization: Bearer <FINANCE_API_TOKEN>`` answers the same CSV as ``gateway charges export``
(phones masked), streamed as it is read. See docs/finance.md.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator

from flask import Blueprint, Response, request, stream_with_context

from billing.errors import BillingError
from billing.export import csv_chunks, export_lines
from billing.periods import local_days
from billing.refunds import RefundPolicy
from gateway import fields
from gateway.errors import InvalidCredentials, InvalidPayload
from gateway.finance.queries import known_carriers, reading_session
from gateway.web import runtime

log = logging.getLogger(__name__)

bp = Blueprint("finance", __name__, url_prefix="/api/v1/finance")


def _authorise() -> None:
    expected = runtime().settings.finance_api_token
    given = request.headers.get("Authorization", "")
    scheme, _, token = given.partition(" ")
    # An unset token closes the endpoint; compare_digest keeps the token's length and prefix
    # from leaking through response times.
    if (
        expected is None
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(token.strip().encode(), expected.encode())
    ):
        raise InvalidCredentials("a valid finance bearer token is required")


@bp.get("/charges.csv")
def charges_csv() -> Response:
    """Stream the charges export of a period as CSV."""
    _authorise()
    rt = runtime()
    first, last = request.args.get("from", ""), request.args.get("to", "")
    carrier = request.args.get("carrier") or None
    if not first or not last:
        raise InvalidPayload("from and to are required, as YYYY-MM-DD local days")
    try:
        period = local_days(first, last)
    except BillingError as exc:
        raise InvalidPayload(str(exc).replace("--from", "from").replace("--to", "to")) from exc
    except OverflowError:  # a day at datetime's very ends: refused by the range check below
        period = None
    fields.iso_day(first, "from"), fields.iso_day(last, "to")  # both within 2000..2100
    assert period is not None
    # The byte order mark is the default, as on the CLI; bom=0 leaves it out.
    bom = request.args.get("bom", "1") not in {"0", "false"}
    with reading_session(rt) as session:
        if carrier is not None and carrier not in known_carriers(rt, session):
            raise InvalidPayload(f"unknown carrier {carrier!r}")
    policy = RefundPolicy(refund_wrong_syntax=rt.settings.refund_wrong_syntax)
    log.info("charges export of %s over HTTP", period.describe())

    def generate() -> Iterator[str]:
        with reading_session(rt) as session:
            yield from csv_chunks(export_lines(session, period, policy, carrier=carrier), bom=bom)

    name = f"charges-{first.strip()}-{last.strip()}.csv"
    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
