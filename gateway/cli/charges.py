"""``gateway charges`` (being built: issue 3)."""

from __future__ import annotations

import click


@click.group()
def charges() -> None:
    """Export, summarise, refund and reconcile charges."""
