"""Finance's refunds pages: the period's refundable charges, select all, a forced refund.

Each refund is a ledger entry written by ``billing.refunds`` (a forced one through
``gateway.finance.refunds``, as ``gateway charges refund --force``); a refusal renders the same
page again with what was ticked and typed. The routes are registered in finance_views.py.
"""

from __future__ import annotations

from flask import g, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from billing.errors import AlreadyRefunded, RefundRefused
from billing.refunds import Candidate, RefundPolicy, find_charge, refund_charge, refundable_charges
from gateway.console import guard
from gateway.console.charges import Choice, read_choice
from gateway.console.refund_forms import (
    Forced,
    ForcedRefused,
    Picked,
    PickedRefused,
    check_count,
    read_forced,
    read_picked,
    refusal_words,
)
from gateway.finance.queries import known_carriers, reading_session, refund_policy
from gateway.finance.refunds import charge_state, refund_message
from gateway.web import db_session, runtime

# A page of tens of thousands of checkboxes helps nobody: past this, narrow the period or
# carrier, or refund by filter with `gateway charges refund --from --to --outcome`.
REFUNDS_SHOWN = 500


def _policy() -> RefundPolicy:
    return refund_policy(runtime().settings)


def _carriers() -> set[str]:
    rt = runtime()
    with reading_session(rt) as session:
        return known_carriers(rt, session)


def refunds() -> ResponseReturnValue:
    """List the period's refundable charges that have no refund yet; offer a forced refund."""
    return _refunds_page(read_choice(runtime(), request.args, runtime().clock.now()))


def _refunds_page(
    choice: Choice,
    *,
    picked: Picked | None = None,
    forced: Forced | None = None,
    error: str | None = None,
    forced_error: str | None = None,
) -> ResponseReturnValue:
    """The refunds page, with what was ticked and typed kept when a refusal comes back."""
    rt = runtime()
    carriers = _carriers()
    with reading_session(rt) as session:
        found = _refundable(session, choice)
        rows = [(c.charge, c.reply_failed) for c in found[:REFUNDS_SHOWN]]
    page = render_template(
        "console/refunds.html",
        choice=choice,
        carriers=sorted(carriers),
        rows=rows,
        found=len(found),
        found_vnd=sum(c.charge.amount_vnd for c in found),
        picked=picked or Picked(),
        forced=forced or Forced(),
        error=error,
        forced_error=forced_error,
    )
    return page, 400 if error or forced_error else 200


def _refundable(session: Session, choice: Choice) -> list[Candidate]:
    carriers = [choice.carrier] if choice.carrier else []
    return refundable_charges(session, _policy(), choice.period, carriers=carriers)


def refunds_confirm() -> ResponseReturnValue:
    """Show what will be refunded and ask once more, with the reason."""
    choice = read_choice(runtime(), request.form, runtime().clock.now())
    try:
        picked = read_picked(request.form)
        with reading_session(runtime()) as session:
            if picked.everything:
                picked.ids = [c.charge.message_id for c in _refundable(session, choice)]
                check_count(picked, len(picked.ids))
            charges = []
            for message_id in picked.ids:
                try:
                    charges.append(find_charge(session, message_id=message_id))
                except RefundRefused as exc:
                    raise PickedRefused(picked, refusal_words(exc, f"tin {message_id}")) from exc
            if not charges:
                raise PickedRefused(picked, "không còn tin nhắn nào cần hoàn trong bộ lọc này")
            total = sum(c.amount_vnd for c in charges)
            return render_template(
                "console/refunds_confirm.html",
                charges=charges,
                reason=picked.reason,
                total=total,
                choice=choice,
            )
    except PickedRefused as exc:
        return _refunds_page(choice, picked=exc.picked, error=str(exc))


def refunds_do() -> ResponseReturnValue:
    """Append one refund entry per confirmed message, as ``gateway charges refund`` does."""
    choice = read_choice(runtime(), request.form, runtime().clock.now())
    try:
        picked = read_picked(request.form)
        if request.form.get("confirm") != "yes":
            raise PickedRefused(picked, "đánh dấu ô xác nhận để hoàn tiền")
    except PickedRefused as exc:
        return _refunds_page(choice, picked=exc.picked, error=str(exc))
    session, now = db_session(), runtime().clock.now()
    actor = f"console:{g.staff.email}"
    done, refused = [], []
    for message_id in picked.ids:
        try:
            charge = find_charge(session, message_id=message_id)
            done.append(
                refund_charge(session, charge, _policy(), reason=picked.reason, actor=actor, at=now)
            )
        except RefundRefused as exc:
            refused.append(refusal_words(exc, f"tin {message_id}"))
    for refund in done:
        guard.note(f"refund message={refund.message_id} {refund.amount_vnd} VND", action="refund")
    session.commit()
    total = sum(r.amount_vnd for r in done)
    return render_template("console/refunds_done.html", done=done, refused=refused, total=total)


def forced_confirm() -> ResponseReturnValue:
    """Show the charge a complaint asks to refund outside the policy, and ask to confirm."""
    choice = read_choice(runtime(), request.form, runtime().clock.now())
    try:
        forced = read_forced(request.form)
        with reading_session(runtime()) as session:
            try:
                state = charge_state(session, _policy(), forced.ask())
            except RefundRefused as exc:
                raise ForcedRefused(forced, refusal_words(exc, forced.name())) from exc
            if state.refunded:
                words = refusal_words(AlreadyRefunded(""), forced.name())
                raise ForcedRefused(forced, words)
            return render_template(
                "console/refunds_forced.html", state=state, forced=forced, choice=choice
            )
    except ForcedRefused as exc:
        return _refunds_page(choice, forced=exc.forced, forced_error=str(exc))


def forced_do() -> ResponseReturnValue:
    """Refund one message outside the policy, with its reason: ``charges refund --force``."""
    choice = read_choice(runtime(), request.form, runtime().clock.now())
    try:
        forced = read_forced(request.form)
        if request.form.get("confirm") != "yes":
            raise ForcedRefused(forced, "đánh dấu ô xác nhận để hoàn tiền ngoài chính sách")
        session = db_session()
        try:
            refund = refund_message(
                session,
                _policy(),
                forced.ask(),
                actor=f"console:{g.staff.email}",
                at=runtime().clock.now(),
            )
        except RefundRefused as exc:
            raise ForcedRefused(forced, refusal_words(exc, forced.name())) from exc
    except ForcedRefused as exc:
        return _refunds_page(choice, forced=exc.forced, forced_error=str(exc))
    guard.note(
        f"forced refund message={refund.message_id} {refund.amount_vnd} VND", action="refund"
    )
    session.commit()
    return render_template(
        "console/refunds_done.html", done=[refund], refused=[], total=refund.amount_vnd, forced=True
    )
