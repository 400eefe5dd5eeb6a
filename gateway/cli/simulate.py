"""``gateway simulate``: play a carrier against a running gateway (see gateway/sms/simulator.py)."""

from __future__ import annotations

import click

from gateway.cli.common import runtime_of


@click.command()
@click.option("--carrier", "carrier_name", required=True, help="A carrier from GATEWAY_CARRIERS.")
@click.option("--from", "sender", required=True, help="The sender's phone, in any usual form.")
@click.option("--to", "recipient", help="The shortcode [default: GATEWAY_SHORTCODE].")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="The gateway.")
@click.option("--wait", default=30.0, show_default=True, help="Seconds to wait for the reply.")
@click.argument("text")
@click.pass_context
def simulate(
    ctx: click.Context,
    carrier_name: str,
    sender: str,
    recipient: str | None,
    url: str,
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

    from gateway.sms.simulator import MtReceiver, send_mo, wait_for_reply

    settings = runtime_of(ctx).settings
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
        except requests.RequestException as exc:
            raise click.ClickException(f"the gateway at {url} did not answer: {exc}") from exc
        if not stored:
            raise click.ClickException(
                f"the gateway refused the message: {answer.status_code} {answer.text[:200]}"
            )
        reply = wait_for_reply(receiver, message_id, wait, sender)
    if reply is None:
        raise click.ClickException(
            f"no reply within {wait:g} s (is `gateway worker` running? Rate-limited senders "
            "get one notice, then silence)"
        )
    click.echo(f"{reply.recipient} < {reply.text}")
