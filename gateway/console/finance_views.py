"""Finance's pages: charges with chart and downloads, reconciliation, refunds.

Every figure and file comes from ``billing`` (summary, export, reconcile, refunds), the same
code as ``gateway charges``; nothing here computes money on its own.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from flask import Blueprint, Response, g, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue

from billing.errors import BillingError, RefundRefused
from billing.periods import parse_local_date
from billing.reconcile import DEFAULT_COLUMNS, KINDS, render
from billing.refunds import RefundPolicy, find_charge, refund_charge, refundable_charges
from billing.summary import summarise
from gateway.console import guard
from gateway.console.charges import chart_data, per_carrier, read_choice
from gateway.errors import InvalidPayload
from gateway.finance.errors import FinanceRefused
from gateway.finance.exports import ChargesExport, prepare_export
from gateway.finance.queries import known_carriers, reading_session, refund_policy
from gateway.finance.reconciliation import ReconcileQuery, reconcile_file
from gateway.web import db_session, runtime

bp = Blueprint("console_finance", __name__, url_prefix="/console", template_folder="templates")
guard.protect(bp)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_DIFFERENCES = 200
MAX_REFUNDS_AT_ONCE = 500
# A page of tens of thousands of checkboxes helps nobody: past this, narrow the period or
# carrier, or refund by filter with `gateway charges refund --from --to --outcome`.
REFUNDS_SHOWN = 500


def _policy() -> RefundPolicy:
    return refund_policy(runtime().settings)


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
        "charges.html",
        choice=choice,
        carriers=sorted(carriers),
        summary=summary,
        rows=list(summary.rows())[:-1],
        by_carrier=per_carrier(summary),
        chart=chart_data(summary, choice.period),
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
    """Upload a carrier's monthly file; show (or download) the differences. Writes nothing."""
    carriers = sorted(_carriers())
    if request.method == "GET":
        return render_template(
            "reconciliation.html", carriers=carriers, columns=DEFAULT_COLUMNS, report=None
        )
    form = request.form
    carrier, columns = form.get("carrier", ""), form.get("columns", "") or DEFAULT_COLUMNS
    upload = request.files.get("file")
    if carrier not in carriers:
        raise InvalidPayload("chọn nhà mạng của tệp")
    if upload is None or not upload.filename:
        raise InvalidPayload("chọn tệp của nhà mạng (CSV)")
    first, last = form.get("from", "").strip(), form.get("to", "").strip()
    try:
        days = (
            (parse_local_date(first, "--from"), parse_local_date(last, "--to"))
            if first and last
            else (None, None)
        )
        query = ReconcileQuery(carrier, upload.read(), columns, *days)
        result = reconcile_file(runtime(), query)
    except (BillingError, FinanceRefused) as exc:
        message = f"{upload.filename}: {exc}. Không có gì được so sánh."
        return render_template(
            "reconciliation.html", carriers=carriers, columns=columns, report=None, error=message
        ), 400
    report, period = result.report, result.period
    guard.note(f"reconcile {carrier} {period.describe()} differences={len(report.differences)}")
    db_session().commit()
    if form.get("download"):
        text = "\r\n".join(render(report, carrier, show=len(report.differences))) + "\r\n"
        name = f"reconciliation-{carrier}-{period.describe()[:23].replace(' .. ', '-')}.txt"
        return Response(text, mimetype="text/plain", headers=_attachment(name))
    return render_template(
        "reconciliation.html",
        carriers=carriers,
        columns=columns,
        carrier=carrier,
        report=report,
        kinds=KINDS,
        shown=SHOWN_DIFFERENCES,
    )


@bp.get("/refunds")
@guard.requires("finance")
def refunds() -> ResponseReturnValue:
    """List the period's refundable charges that have no refund yet."""
    rt = runtime()
    carriers = _carriers()
    choice = read_choice(rt, request.args, rt.clock.now())
    with reading_session(rt) as session:
        found = refundable_charges(
            session, _policy(), choice.period, carriers=[choice.carrier] if choice.carrier else []
        )
        rows = [(c.charge, c.reply_failed) for c in found[:REFUNDS_SHOWN]]
    return render_template(
        "refunds.html",
        choice=choice,
        carriers=sorted(carriers),
        rows=rows,
        found=len(found),
        found_vnd=sum(c.charge.amount_vnd for c in found),
    )


@bp.post("/refunds/confirm")
@guard.requires("finance")
def refunds_confirm() -> ResponseReturnValue:
    """Show what will be refunded and ask once more, with the reason."""
    ids = _selected_ids()
    reason = request.form.get("reason", "").strip()
    if not reason:
        raise InvalidPayload("ghi lý do hoàn tiền")
    with reading_session(runtime()) as session:
        try:
            charges = [find_charge(session, message_id=i) for i in ids]
        except RefundRefused as exc:
            raise InvalidPayload(str(exc)) from exc
        total = sum(c.amount_vnd for c in charges)
        return render_template("refunds_confirm.html", charges=charges, reason=reason, total=total)


@bp.post("/refunds")
@guard.requires("finance")
def refunds_do() -> ResponseReturnValue:
    """Append one refund entry per confirmed message, as ``gateway charges refund`` does."""
    ids = _selected_ids()
    reason = request.form.get("reason", "").strip()[:200]
    if not reason or request.form.get("confirm") != "yes":
        raise InvalidPayload("xác nhận và ghi lý do hoàn tiền")
    session, now = db_session(), runtime().clock.now()
    actor = f"console:{g.staff.email}"
    done, refused = [], []
    for message_id in ids:
        try:
            charge = find_charge(session, message_id=message_id)
            done.append(
                refund_charge(session, charge, _policy(), reason=reason, actor=actor, at=now)
            )
        except RefundRefused as exc:
            refused.append(str(exc))
    for refund in done:
        guard.note(f"refund message={refund.message_id} {refund.amount_vnd} VND", action="refund")
    session.commit()
    total = sum(r.amount_vnd for r in done)
    return render_template("refunds_done.html", done=done, refused=refused, total=total)


def _selected_ids() -> list[int]:
    raw = request.form.getlist("message_id")
    if not raw:
        raise InvalidPayload("chọn ít nhất một tin nhắn để hoàn tiền")
    if len(raw) > MAX_REFUNDS_AT_ONCE:
        raise InvalidPayload(f"tối đa {MAX_REFUNDS_AT_ONCE} tin nhắn mỗi lần")
    try:
        return sorted({int(value) for value in raw})
    except ValueError:
        raise InvalidPayload("mã tin nhắn không hợp lệ") from None
