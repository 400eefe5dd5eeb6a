"""What every command shares: the runtime, built once per invocation from the environment."""

from __future__ import annotations

import logging
import os

import click

from gateway.errors import ConfigError
from gateway.runtime import Runtime, build_runtime
from gateway.settings import load_settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def runtime_of(ctx: click.Context) -> Runtime:
    """Return the invocation's runtime, reading the settings on first use."""
    root = ctx.find_root()
    root.ensure_object(dict)
    if "runtime" not in root.obj:
        try:
            settings = load_settings(os.environ)
            root.obj["runtime"] = build_runtime(settings)
        except ConfigError as exc:
            raise click.ClickException(f"configuration: {exc}") from exc
        logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    return root.obj["runtime"]  # type: ignore[no-any-return]
