"""``gateway outbox requeue``: send a failed reply again (the console's button, for the shell)."""

from __future__ import annotations

import sys

import click

from gateway.cli.common import record_operator_event, runtime_of

# What a refusal says, by gateway.delivery.outbox.requeue_refusal's code.
REFUSALS = {
    "not_found": "no outbox row with this id",
    "not_a_reply": "only an SMS reply to a received message can be sent again",
    "not_failed": "this reply has not failed",
    "secret": (
        "this reply carried a temporary password: it is never sent again; the person texts "
        "BH MK again for a new one"
    ),
    "purged": "its text was blanked past the retention period",
    "already_requeued": "this reply was already queued again",
}


@click.group()
def outbox() -> None:
    """Look after the outbox of replies, notices and emails."""


@outbox.command("requeue")
@click.argument("outbox_id", type=int)
@click.option("--reason", required=True, help="Why (a ticket, a complaint); kept in the audit.")
@click.pass_context
def outbox_requeue(ctx: click.Context, outbox_id: int, reason: str) -> None:
    """Queue a failed SMS reply (OUTBOX_ID, shown on the console's timeline) again.

    The failed row stays as history; a new row with the same text is sent by the worker.
    Replies that carried a temporary password are refused. Exits 1 when refused.
    """
    from gateway.delivery.outbox import requeue_reply
    from gateway.errors import RequeueRefused

    reason = " ".join(reason.split())[:120]
    if not reason:
        raise click.BadParameter("say why", param_hint="--reason")
    runtime = runtime_of(ctx)
    now = runtime.clock.now()
    with runtime.session_factory() as session:
        try:
            again = requeue_reply(session, outbox_id, settings=runtime.settings, now=now)
        except RequeueRefused as exc:
            click.echo(f"not requeued: {REFUSALS.get(exc.code, exc.code)}", err=True)
            sys.exit(1)
        detail = f"requeue message {again.message_id} reply {outbox_id} -> {again.id}: {reason}"
        record_operator_event(session, "reply_requeue", now, detail)
        session.commit()
    click.echo(f"queued again as outbox {again.id}")
