"""``gateway mail-sink``: a local SMTP server that prints every email it gets, readably.

For the quick start and development only: the gateway writes quoted-printable UTF-8 (so codes
and links stay whole in the raw message), which a raw dump shows as ``=C3=A1`` soup; this
prints the headers decoded and the plain-text part as a person reads it.
"""

from __future__ import annotations

import threading
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import click

from gateway.cli.common import settings_of


def readable(raw: bytes) -> str:
    """Return one email as text: From, To, Subject, Date decoded, then its plain-text body."""
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)  # the default policy builds EmailMessage
    lines = [
        f"{name}: {message[name]}" for name in ("From", "To", "Subject", "Date") if message[name]
    ]
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else "(no text part)"
    if message.get_body(preferencelist=("html",)) is not None:
        lines.append("(an HTML part too, with the same content)")
    return "\n".join([*lines, "", text.rstrip(), ""])


class _Printer:
    """aiosmtpd's handler: print each message, accept it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            click.echo(f"----- mail to {', '.join(envelope.rcpt_tos)} -----")
            click.echo(readable(envelope.content))
        return "250 2.0.0 OK: printed"


@click.command("mail-sink")
@click.option("--listen", help="host:port [default: GATEWAY_SMTP_HOST:GATEWAY_SMTP_PORT]")
@click.pass_context
def mail_sink(ctx: click.Context, listen: str | None) -> None:
    """Receive the gateway's emails on loopback and print them, decoded, until Ctrl-C.

    For trying the email channel on one machine: .env.example points the gateway's SMTP
    settings here (127.0.0.1:1025, no TLS). Never a relay: nothing is forwarded.
    """
    try:
        from aiosmtpd.controller import Controller
    except ImportError as exc:  # a dev dependency: `make install` has it
        raise click.ClickException("mail-sink needs aiosmtpd: pip install -e '.[dev]'") from exc
    if listen is None:
        smtp = settings_of().smtp
        host, port = smtp.host, smtp.port
    else:
        host, _, raw_port = listen.rpartition(":")
        if not raw_port.isdigit():
            raise click.BadParameter("give host:port, e.g. 127.0.0.1:1025", param_hint="--listen")
        port = int(raw_port)
    controller = Controller(_Printer(), hostname=host or "127.0.0.1", port=port)
    try:
        controller.start()
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (another mail-sink running?)"
        ) from exc
    click.echo(f"mail sink listening on {host}:{port}; every email is printed here (Ctrl-C stops)")
    stop = threading.Event()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
