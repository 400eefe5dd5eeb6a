"""``gateway charges refund``: refund one message, or every refundable one in a period."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import click

from billing.errors import RefundRefused
from billing.outcomes import Outcome
from billing.periods import Period
from gateway.cli.common import acting_user
from gateway.cli.finance_input import BadInput, access_of, days_of, refusals
from parsers import mask_phone

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from billing.refunds import Candidate, RefundPolicy

log = logging.getLogger(__name__)


@click.command()
@click.option("--message-id", type=int, help="Refund this message (our id).")
@click.option(
    "--carrier-message-id", help="Refund this message (the carrier's id; with --carrier)."
)
@click.option("--carrier", help="The carrier (with --carrier-message-id, or to filter).")
@click.option("--outcome", "outcomes", multiple=True, type=click.Choice([o.value for o in Outcome]))
@click.option("--from", "first", help="Filter: first local day, YYYY-MM-DD or dd/mm/yyyy.")
@click.option("--to", "last", help="Filter: last local day, YYYY-MM-DD or dd/mm/yyyy (included).")
@click.option("--amount", type=int, help="One message only: refund less than the charge.")
@click.option("--reason", help="Why (stored on the refund) [default: the outcome].")
@click.option("--force", is_flag=True, help="One message only: refund a non-refundable outcome.")
@click.option("--dry-run", is_flag=True, help="List what would be refunded; write nothing.")
@click.option("--yes", is_flag=True, help="A period: refund what is listed (without: list only).")
@click.pass_context
def refund(
    ctx: click.Context,
    message_id: int | None,
    carrier_message_id: str | None,
    carrier: str | None,
    outcomes: tuple[str, ...],
    first: str | None,
    last: str | None,
    amount: int | None,
    reason: str | None,
    force: bool,
    dry_run: bool,
    yes: bool,
) -> None:
    """Refund one message, or every refundable charge of a period (idempotent).

    \b
    gateway charges refund --message-id 1234 --reason "complaint 5678"
    gateway charges refund --carrier viettel --carrier-message-id ABC123
    gateway charges refund --outcome system_error --from 2026-11-01 --to 2026-11-30
    gateway charges refund --outcome system_error --from 2026-11-01 --to 2026-11-30 --yes

    A period's refunds are listed first and made only with --yes. --force (one message, any
    outcome) needs --reason, stored on the refund.
    """
    from billing.refunds import refund_all
    from gateway.finance.queries import check_carrier, checked_period, refund_policy
    from gateway.finance.refunds import OneRefund, check_reason, refund_message

    access = access_of(ctx)
    single = message_id is not None or carrier_message_id is not None
    if single and (outcomes or first or last):
        raise BadInput("give one message, or a filter (--from/--to/--outcome), not both")
    if not single and not (first and last):
        raise BadInput("give --message-id, --carrier with --carrier-message-id, or --from and --to")
    if not single and (amount is not None or force):
        raise BadInput("--amount and --force apply to one message only")
    ask = OneRefund(message_id, carrier, carrier_message_id, reason, amount, force)
    with refusals():
        check_reason(ask)
    if single and yes:
        raise BadInput("--yes applies to a period; one message is refunded as asked")
    if carrier_message_id is not None and carrier is None:
        raise BadInput("--carrier-message-id needs --carrier")
    days = days_of(first, last) if first and last else None
    policy, actor, now = refund_policy(access.settings), acting_user(), access.clock.now()
    with access.session_factory() as session:
        period = None
        with refusals():
            if days is None:
                check_carrier(access, session, carrier)
            else:
                period = checked_period(access, session, *days, carrier)
        try:
            if single:
                refunds = [refund_message(session, policy, ask, actor=actor, at=now)]
                skipped: list[str] = []
            else:
                assert period is not None
                found = _candidates(session, policy, period, carrier, outcomes)
                if not found or dry_run:
                    return
                if not yes:
                    total = sum(c.charge.amount_vnd for c in found)
                    raise click.ClickException(
                        f"nothing refunded yet: run again with --yes to refund these "
                        f"{len(found)} charges ({total} VND)"
                    )
                refunds, skipped = refund_all(
                    session, found, policy, reason=reason, actor=actor, at=now
                )
        except RefundRefused as exc:
            raise click.ClickException(str(exc)) from exc
        total = sum(r.amount_vnd for r in refunds)
        if dry_run:
            session.rollback()
            click.echo(f"dry run: would refund message {refunds[0].message_id}, {total} VND")
            return
        session.commit()
    for why in skipped:
        click.echo(f"skipped: {why}", err=True)
    log.info("%s refunded %s charges, %s VND", actor, len(refunds), total)
    click.echo(f"refunded {len(refunds)} charges, {total} VND")


def _candidates(
    session: Session,
    policy: RefundPolicy,
    period: Period,
    carrier: str | None,
    outcomes: tuple[str, ...],
) -> list[Candidate]:
    """List the refundable charges of a filter; say so when there is none (idempotent rerun)."""
    from billing.refunds import refundable_charges

    chosen = [Outcome(value) for value in outcomes]
    carriers = [carrier] if carrier else []
    found = refundable_charges(session, policy, period, carriers=carriers, outcomes=chosen)
    if not found:
        click.echo(f"nothing to refund: every refundable charge of {period.describe()} is refunded")
        return found
    for candidate in found:
        c = candidate.charge
        failed = " (reply failed)" if candidate.reply_failed else ""
        click.echo(
            f"message {c.message_id} {c.carrier} {c.carrier_message_id} {mask_phone(c.phone)} "
            f"{c.outcome.value}{failed} {c.amount_vnd} VND"
        )
    total = sum(c.charge.amount_vnd for c in found)
    click.echo(f"{len(found)} refundable charges, {total} VND")
    return found
