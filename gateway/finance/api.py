"""The charges export over HTTP, for finance's tools: the same CSV as ``gateway charges export``.

``GET /api/v1/finance/charges.csv?from=YYYY-MM-DD&to=YYYY-MM-DD[&carrier=NAME]`` with
``Authorization: Bearer <FINANCE_API_TOKEN>`` answers the same CSV as ``gateway charges export``
(phones masked), streamed as it is read. See docs/finance.md.
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Response, request, stream_with_context

from billing.errors import BillingError
from billing.periods import parse_local_date
from gateway import fields
from gateway.errors import InvalidCredentials, InvalidPayload
from gateway.finance.errors import FinanceRefused
from gateway.finance.exports import ExportQuery, prepare_export
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
    first, last = request.args.get("from", ""), request.args.get("to", "")
    if not first or not last:
        raise InvalidPayload("from and to are required, as YYYY-MM-DD local days")
    try:  # the format first, for both; then the range
        parse_local_date(first, "from"), parse_local_date(last, "to")
    except BillingError as exc:
        raise InvalidPayload(str(exc)) from exc
    query = ExportQuery(
        first=fields.iso_day(first, "from"),
        last=fields.iso_day(last, "to"),
        carrier=request.args.get("carrier") or None,
    )
    try:
        export = prepare_export(runtime(), query)
    except FinanceRefused as exc:
        raise InvalidPayload(_http_words(exc.reason)) from exc
    # The byte order mark is the default, as on the CLI; bom=0 leaves it out.
    bom = request.args.get("bom", "1") not in {"0", "false"}
    log.info("charges export of %s over HTTP", export.period.describe())
    return Response(
        stream_with_context(export.csv_chunks(bom=bom)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{export.file_name("csv")}"',
            "Cache-Control": "no-store",
        },
    )


def _http_words(reason: str) -> str:
    # The use case names the CLI's options; this door's parameters are from and to.
    return reason.replace("--from", "from").replace("--to", "to")
