"""``gateway simulate``: play a carrier against a running gateway (see gateway/sms/simulator.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.cli.common import runtime_of

if TYPE_CHECKING:
    from gateway.settings import Settings

WILDCARDS = ("0.0.0.0", "::", "")  # noqa: S104 (a listening address, read to connect locally)


@click.command()
@click.option("--carrier", "carrier_name", required=True, help="A carrier from GATEWAY_CARRIERS.")
@click.option("--from", "sender", required=True, help="The sender's phone, in any usual form.")
@click.option("--to", "recipient", help="The shortcode [default: GATEWAY_SHORTCODE].")
@click.option(
    "--url",
    help="The gateway [default: http://GATEWAY_BIND, as `make run` serves it; else "
    "GATEWAY_PUBLIC_URL].",
)
@click.option("--wait", default=30.0, show_default=True, help="Seconds to wait for the reply.")
@click.argument("text")
@click.pass_context
def simulate(
    ctx: click.Context,
    carrier_name: str,
    sender: str,
    recipient: str | None,
    url: str | None,
    wait: float,
    text: str,
) -> None:
    """Text the running gateway as CARRIER would, and print the reply it sends back.

    Speaks the carrier's kind (CARRIER_<NAME>_KIND: signed JSON, Kannel's post-url, Jasmin's
    MO connector or the Vietnamese MO form) and listens at its MT URL (CARRIER_<NAME>_MT_URL)
    while it waits, answering as that kind's MT interface does, so run it on the machine that
    URL points to. Example:

        gateway simulate --carrier demo --from 0912345678 "BH MK 0123456789"
    """
    import requests
    from sqlalchemy.exc import SQLAlchemyError

    from gateway.sms.simulator import Decision, MtReceiver, decision_of, send_mo, watch

    runtime = runtime_of(ctx)
    settings = runtime.settings
    url = url or gateway_url(settings)
    carrier = settings.carriers.get(carrier_name)
    if carrier is None:
        raise click.ClickException(f"unknown carrier {carrier_name!r}; see GATEWAY_CARRIERS")
    try:
        receiver = MtReceiver(carrier)
    except OSError as exc:
        raise click.ClickException(f"cannot listen at {carrier.mt_url}: {exc}") from exc
    with receiver:
        click.echo(f"{sender} > {text}")
        try:
            message_id, answer, stored = send_mo(
                url, carrier, sender, recipient or settings.shortcode, text
            )
        except requests.ConnectionError as exc:
            raise click.ClickException(
                f"nothing answers at {url}: start the gateway with `make run` (or `gateway "
                "serve --with-worker`), or point --url at it"
            ) from exc
        except requests.RequestException as exc:
            raise click.ClickException(
                f"the gateway at {url} did not answer ({type(exc).__name__}): is it running "
                "(`make run`), and is --url right?"
            ) from exc
        if not stored:
            raise click.ClickException(
                f"the gateway refused the message: {answer.status_code} {answer.text[:200]}"
            )
        unreadable: list[str] = []

        def decide() -> Decision | None:
            if unreadable:
                return None
            try:
                return decision_of(runtime.engine, carrier.name, message_id)
            except SQLAlchemyError as exc:
                unreadable.append(type(exc).__name__)
                click.echo(
                    f"   (cannot read the gateway's database ({unreadable[0]}): waiting for a "
                    "reply that names this message)",
                    err=True,
                )
                return None

        answered = False
        for event in watch(receiver, message_id, sender, wait, decide):
            if event.kind == "notice" and event.reply is not None:
                click.echo(f"{event.reply.recipient} < {event.reply.text}")
                click.echo("   (a notice to this phone, not the reply to this message)")
            elif event.kind == "reply" and event.reply is not None:
                click.echo(f"{event.reply.recipient} < {event.reply.text}")
                answered = True
            elif event.decision is not None:
                click.echo(f"   no reply ({_why_silent(event.decision.outcome)})")
                answered = True
    if not answered:
        raise click.ClickException(
            f"no reply within {wait:g} s: is `gateway worker` running, and is --url the gateway "
            "whose DATABASE_URL this folder's settings name?"
        )


def gateway_url(settings: Settings) -> str:
    """Where the gateway of this folder's settings listens: GATEWAY_BIND, as the server reads it.

    A wildcard bind (0.0.0.0, ::) is reached on the loopback; a Unix socket or file
    descriptor cannot be, so GATEWAY_PUBLIC_URL is used instead.
    """
    bind = settings.bind
    host, _, port = bind.rpartition(":")
    if bind.startswith(("unix:", "fd://")) or not port.isdigit():
        return settings.public_url
    host = host.strip("[]")
    if host in WILDCARDS:
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _why_silent(outcome: str) -> str:
    if outcome == "rate_limited":
        return "rate limited / silenced: one notice per window, then silence"
    return f"the gateway decided not to answer: {outcome}"
