"""gunicorn settings for the gateway, read by ``gateway serve`` and by ``gunicorn wsgi:app``.

Everything comes from the gateway's own settings (``.env`` or the environment); ``gateway
serve --bind/--workers`` override after this file is read. Also: logging through
``gateway.ops.logs`` (JSON or plain, masked) and Prometheus' multi-process mode, so that
``/metrics`` on any worker adds up every worker (and ``serve --with-worker``'s worker).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from gunicorn import glogging

from gateway.errors import ConfigError
from gateway.ops import logs
from gateway.ops.metrics import MULTIPROC_ENV
from gateway.settings import check_metrics_private, load_settings

load_dotenv(Path.cwd() / ".env")  # as wsgi.py does; variables already set win
_settings = load_settings(os.environ)
logs.configure(_settings)

# prometheus_client picks its storage when imported; every process forked or started from
# here must see the directory first. A reload (SIGHUP) reads this file again: keep the same one.
_OWN_METRICS_DIR = MULTIPROC_ENV not in os.environ
if _OWN_METRICS_DIR:
    os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="gateway-metrics-")
_METRICS_DIR = Path(os.environ[MULTIPROC_ENV])
_values = sys.modules.get("prometheus_client.values")
if _values is not None and not getattr(_values.ValueClass, "_multiprocess", False):
    # Imported too early, it would keep each worker's counts to itself, silently.
    raise RuntimeError(f"prometheus_client was imported before {MULTIPROC_ENV} was set")

# Files the workers create (the SQLite database, lock files) hold personal data: private,
# as `gateway` itself makes them (gateway/cli/__init__.py). gunicorn's own `umask` setting
# covers only its sockets.
os.umask(0o077)

bind = [_settings.bind]
# gunicorn's rule of thumb; capped because each worker holds its own pool and argon2 memory.
workers = _settings.web_workers or min(2 * (os.cpu_count() or 1) + 1, 8)
# Threads, not one request per process: a login waiting for one of the few argon2 slots
# (GATEWAY_HASH_CONCURRENCY) holds a thread, and the carrier webhook still finds a free one;
# all but one of a worker's threads may hash or wait to (gateway/accounts/passwords.py).
# With sync workers, 16 connections flooding login put the webhook's p99 at 19x its idle
# value on 2 cores; with threads, at 2-8x (benchmarks/login.py).
worker_class = "gthread"
threads = _settings.web_threads
timeout = 30  # a request taking longer than this is stuck: the worker is replaced
graceful_timeout = 30  # on SIGTERM or reload, in-flight requests get this long to finish
keepalive = 5  # behind a proxy that reuses connections; gunicorn's 2 s closes them early
# Recycle workers now and then, so a slow leak never grows unbounded; not at every 1,000
# requests, which a flood of cheap 429s (over 1,000 a second) reaches every few seconds, each
# fresh worker's first requests being its slowest (webhook p99 under a login flood 19 -> 13 ms).
max_requests = 10_000
max_requests_jitter = 1_000  # and not all at the same moment
# Import the gateway and build the app once, in the master: a worker (also each recycled one)
# is then a fork, not 0.6 s of CPU spent importing, which at max_requests=1000 cost more per
# request than storing a message. The app factory opens no connection (see post_fork), and
# new code is deployed by restarting, not by SIGHUP (docs/deploy.md).
preload_app = True
loglevel = _settings.log_level.lower()
errorlog = "-"
accesslog = "-"
# The path without the query string (%(U)s, not %(r)s): Kannel and Jasmin put tokens there.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
# Paths that carry a secret: the staff console's one-time enrolment links.
_SECRET_PATH = re.compile(r"(/console/enrol/)[^\s\"?#]+")
# Ignored by gunicorn < 25. Its default is one socket per user, which a second instance on
# the same host (blue/green) would delete; keep ours beside the database.
control_socket = str(_settings.instance_dir / "gunicorn.ctl")


def _mask_path(value: str) -> str:
    return _SECRET_PATH.sub(r"\1…", value)


class GatewayLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger, with its error and access lines sent through ``gateway.ops.logs``."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
            log.propagate = True

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        """gunicorn's values for the access line, with secrets in paths masked in all of them
        (the path, the request line, the Referer, and any header or environ atom)."""
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: _mask_path(v) if isinstance(v, str) else v for k, v in atoms.items()}

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if not self.access_log.isEnabledFor(logging.INFO):
            return  # GATEWAY_LOG_LEVEL above INFO: gunicorn would build the line, then drop it
        # The app has already forgotten the request; its id is in the response header.
        headers = {name.lower(): value for name, value in resp.headers}
        token = logs.request_id.set(headers.get(logs.REQUEST_ID_HEADER.lower(), logs.NO_REQUEST))
        try:
            super().access(resp, req, environ, request_time)
        finally:
            logs.request_id.reset(token)


logger_class = GatewayLogger


def on_starting(server: Any) -> None:
    """Refuse an open /metrics beyond loopback; start from empty metrics (files left by an
    earlier run would be added in)."""
    # The final binds: `gateway serve --bind` and `gunicorn -b` replace the one read above.
    for address in server.cfg.bind:
        try:
            check_metrics_private(address, _settings.metrics_token, "bind")
        except ConfigError as exc:
            raise RuntimeError(f"configuration: {exc}") from None  # gunicorn prints one line
    _settings.instance_dir.mkdir(parents=True, exist_ok=True)
    _METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in _METRICS_DIR.glob("*.db"):
        stale.unlink()


def post_fork(server: Any, worker: Any) -> None:
    """Give each worker its own database connections, never ones inherited from the master."""
    app = server.app.wsgi()
    runtime = app.extensions.get("gateway") if hasattr(app, "extensions") else None
    if runtime is not None:
        runtime.engine.dispose(close=False)  # the master's (if any) stay the master's


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges; its counters stay in the totals."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    """Remove the metrics directory this file created."""
    if _OWN_METRICS_DIR:
        shutil.rmtree(_METRICS_DIR, ignore_errors=True)
