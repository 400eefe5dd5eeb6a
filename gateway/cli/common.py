"""What every command shares: the runtime, built once per invocation from the environment."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gateway.runtime import Runtime


def runtime_of(ctx: click.Context) -> Runtime:
    """Return the invocation's runtime, reading the settings on first use."""
    root = ctx.find_root()
    root.ensure_object(dict)
    if "runtime" not in root.obj:
        # Imported here, not at the top: `gateway --help` must not load SQLAlchemy and Flask.
        from gateway.errors import ConfigError
        from gateway.ops import logs
        from gateway.runtime import build_runtime
        from gateway.settings import load_settings

        try:
            settings = load_settings(os.environ)
            runtime = build_runtime(settings)
        except ConfigError as exc:
            raise click.ClickException(f"configuration: {exc}") from exc
        root.obj["runtime"] = runtime
        root.call_on_close(runtime.engine.dispose)  # close pooled connections before exit
        logs.configure(settings)
    return root.obj["runtime"]  # type: ignore[no-any-return]
