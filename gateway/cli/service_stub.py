"""``gateway service-stub``: a stand-in for the agency's services (docs/services.md)."""

from __future__ import annotations

import base64
import contextlib
import secrets
from pathlib import Path

import click

from gateway.cli.common import settings_of


@click.command("service-stub")
@click.option("--bind", default="127.0.0.1:8091", show_default=True, help="host:port to listen on")
@click.option(
    "--answers",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of service,argument,reply [default: the demo's, gateway/services/demo_answers.csv]",
)
@click.option("--new-secret", is_flag=True, help="Print a fresh whsec_ secret and exit.")
def service_stub(bind: str, answers: Path | None, new_secret: bool) -> None:
    """Answer the configured keyword services (GATEWAY_SERVICES) from a CSV, as the agency's
    systems would: signatures checked, repeats answered once, at POST /services/<name>."""
    if new_secret:
        click.echo("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())
        return
    from werkzeug.serving import make_server

    from gateway.services.stub import DEMO_ANSWERS, StubService, read_answers

    settings = settings_of()
    if not settings.services:
        raise click.ClickException("GATEWAY_SERVICES is empty: no service to stand in for")
    host, _, port = bind.rpartition(":")
    app = StubService(settings.services.values(), read_answers(answers or DEMO_ANSWERS))
    server = make_server(host or "127.0.0.1", int(port), app, threaded=True)
    for name in settings.services:
        click.echo(f"service {name}: http://{bind}/services/{name}")
    click.echo("Ctrl-C stops it")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it stops
        server.serve_forever()
