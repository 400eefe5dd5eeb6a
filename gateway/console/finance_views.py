"""Finance's pages: charges with chart and downloads, reconciliation; refunds' routes.

Every figure and file comes from ``billing`` (summary, export, reconcile, refunds), the same
code as ``gateway charges``; nothing here computes money on its own.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    g,
    render_template,
    request,
    session,
    stream_with_context,
)
from flask.typing import ResponseReturnValue

from billing.errors import BillingError
from billing.summary import CARRIER, SERVICE, summarise
from gateway.console import guard, inputs, refund_views, report_store
from gateway.console.charges import chart_data, page_words, read_choice
from gateway.console.reconcile_words import FIELDS, missing_words, problem_words
from gateway.errors import InvalidPayload
from gateway.finance.errors import FinanceRefused
from gateway.finance.exports import ChargesExport, prepare_export
from gateway.finance.queries import known_carriers, reading_session
from gateway.finance.reconciliation import (
    ReconcileQuery,
    choose_columns,
    columns_spec,
    file_header,
    reconcile_file,
)
from gateway.finance.reconciliation_report import KIND_NAMES, days, in_words, render_vi
from gateway.finance.reconciliation_report import file_name as report_file_name
from gateway.web import db_session, runtime

bp = Blueprint("console_finance", __name__, url_prefix="/console", template_folder="templates")
guard.protect(bp)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_DIFFERENCES = 200


def _carriers() -> set[str]:
    rt = runtime()
    with reading_session(rt) as session:
        return known_carriers(rt, session)


@bp.get("/charges")
@guard.requires("finance")
def charges() -> ResponseReturnValue:
    """The period's chart per day and carrier, and the summary table with its totals."""
    rt = runtime()
    carriers = _carriers()
    choice = read_choice(rt, request.args, rt.clock.now())
    with reading_session(rt) as session:
        summary = summarise(session, choice.period, choice.carrier)
    return render_template(
        "console/charges.html",
        choice=choice,
        carriers=sorted(carriers),
        summary=summary,
        rows=list(summary.rows())[:-1],
        by_carrier=summary.totals_by(CARRIER),
        by_service=summary.totals_by(SERVICE),
        chart=chart_data(summary, choice.period),
        service_chart=chart_data(summary, choice.period, by=SERVICE),
    )


@bp.get("/charges.csv")
@guard.requires("finance")
def charges_csv() -> Response:
    """Stream the export as CSV for Excel: ``gateway charges export --excel``, byte for byte."""
    export = _export("csv")
    return Response(
        stream_with_context(export.csv_chunks(bom=True)),
        mimetype="text/csv",
        headers=_attachment(export.file_name("csv")),
    )


@bp.get("/charges.xlsx")
@guard.requires("finance")
def charges_xlsx() -> Response:
    """Send the export as XLSX: ``gateway charges export --format xlsx``, row for row."""
    export = _export("xlsx")
    # A workbook is a zip whose directory comes last: it is written to a private temporary file
    # (the writer keeps constant memory) and streamed from there, then removed.
    handle, name = tempfile.mkstemp(prefix="charges-", suffix=".xlsx")
    os.close(handle)
    path = Path(name)
    try:
        export.write_xlsx(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    size = path.stat().st_size

    def generate() -> Iterator[bytes]:
        try:
            with path.open("rb") as stream:
                while chunk := stream.read(64 * 1024):
                    yield chunk
        finally:
            path.unlink(missing_ok=True)

    headers = _attachment(export.file_name("xlsx"))
    headers["Content-Length"] = str(size)
    return Response(generate(), mimetype=XLSX, headers=headers)


def _export(extension: str) -> ChargesExport:
    """Read the form into the export use case's query and note the download."""
    rt = runtime()
    choice = read_choice(rt, request.args, rt.clock.now())
    export = prepare_export(rt, choice.export_query())
    guard.note(f"charges.{extension} {export.period.describe()} {choice.carrier or 'all'}")
    db_session().commit()
    return export


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


@bp.route("/reconciliation", methods=["GET", "POST"])
@guard.requires("finance")
def reconciliation() -> ResponseReturnValue:
    """Upload a carrier's monthly file; show the differences, keep the report to download.

    Writes nothing to the ledger.
    """
    carriers = sorted(_carriers())

    def page(**shown: object) -> str:
        return render_template(
            "console/reconciliation.html", carriers=carriers, fields=FIELDS, **shown
        )

    if request.method == "GET":
        return page(given={})
    form = request.form
    given = {name: form.get(f"col_{name}", "").strip()[:100] for name in FIELDS}
    carrier = form.get("carrier", "")
    upload = request.files.get("file")
    try:
        if carrier not in carriers:
            raise Refused(["chọn nhà mạng của tệp"])
        if upload is None or not upload.filename:
            raise Refused(["chọn tệp của nhà mạng (CSV)"])
        query = _reconcile_query(carrier, upload.read(), given)
        result = reconcile_file(runtime(), query)
    except (Refused, FinanceRefused, BillingError) as exc:
        return page(given=given, carrier=carrier, errors=_refusal_lines(exc)), 400
    report, period = result.report, result.period
    guard.note(f"reconcile {carrier} {period.describe()} differences={len(report.differences)}")
    db_session().commit()
    text = "\r\n".join(render_vi(report, carrier, show=len(report.differences))) + "\r\n"
    name = report_file_name(carrier, period)
    if form.get("download"):
        return Response(text, mimetype="text/plain", headers=_attachment(name))
    token = report_store.keep(text, name, _report_owner(), runtime().clock.now())
    difference = report.ours_total_vnd - report.theirs_total_vnd
    return page(
        given=given,
        carrier=carrier,
        report=report,
        columns=query.columns,
        kinds=KIND_NAMES,
        shown=SHOWN_DIFFERENCES,
        days=days(period),
        difference=difference,
        difference_words=in_words(difference, carrier),
        token=token,
        file_name=name,
    )


def _refusal_lines(exc: Exception) -> list[str]:
    """Word a refused reconciliation for the page, one line per problem."""
    if isinstance(exc, Refused):
        return exc.words
    if isinstance(exc, FinanceRefused) and exc.code == "days_reversed":
        return ["Từ ngày phải trước hoặc trùng Đến ngày"]
    if isinstance(exc, FinanceRefused) and exc.problems:
        return problem_words(exc.problems)
    return [page_words(exc.reason if isinstance(exc, FinanceRefused) else str(exc))]


class Refused(Exception):
    """A reconciliation form that cannot be compared; ``words`` are its Vietnamese lines."""

    def __init__(self, words: list[str]) -> None:
        super().__init__("; ".join(words))
        self.words = words


def _reconcile_query(carrier: str, data: bytes, given: dict[str, str]) -> ReconcileQuery:
    """Read the form into the use case's query: the columns found, the optional days."""
    chosen, missing = choose_columns(file_header(data), given)
    if missing:
        raise Refused([missing_words(missing, file_header(data))])
    first, last = request.form.get("from", "").strip(), request.form.get("to", "").strip()
    if bool(first) != bool(last):
        raise Refused(["nhập cả Từ ngày và Đến ngày, hoặc để trống cả hai"])
    try:
        days_given = (
            (inputs.day(first, "Từ ngày"), inputs.day(last, "Đến ngày")) if first and last else None
        )
    except InvalidPayload as exc:
        raise Refused([exc.reason]) from exc
    return ReconcileQuery(carrier, data, columns_spec(chosen), *(days_given or (None, None)))


def _report_owner() -> str:
    """Tie a kept report to this member's session: another member, or a later session, gets
    nothing."""
    return f"{g.staff.id}:{session.get('since')}"


@bp.get("/reconciliation/report/<token>")
@guard.requires("finance")
def reconciliation_report(token: str) -> ResponseReturnValue:
    """Download the report of the reconciliation just shown, without sending the file again."""
    kept = report_store.take(token, _report_owner(), runtime().clock.now())
    if kept is None:
        message = "Báo cáo đã hết hạn (giữ 30 phút) hoặc không thuộc phiên này: đối soát lại tệp."
        return render_template("console/error.html", status=404, message=message), 404
    name, text = kept
    guard.note(f"reconcile report {name}")
    db_session().commit()
    return Response(text, mimetype="text/plain", headers=_attachment(name))


# The refunds pages live in refund_views.py; the routes stay on this blueprint (same endpoints).
for _rule, _view, _methods in (
    ("/refunds", refund_views.refunds, ["GET"]),
    ("/refunds/confirm", refund_views.refunds_confirm, ["POST"]),
    ("/refunds", refund_views.refunds_do, ["POST"]),
    ("/refunds/forced/confirm", refund_views.forced_confirm, ["POST"]),
    ("/refunds/forced", refund_views.forced_do, ["POST"]),
):
    bp.add_url_rule(_rule, view_func=guard.requires("finance")(_view), methods=_methods)
