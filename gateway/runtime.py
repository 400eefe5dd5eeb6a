"""The long-lived objects one process shares: settings, engine, sessions, clock, replies.

It wires the worker to the channels, so only the entry points (the app factory, the CLI) import
it; the blueprints reach the runtime through ``gateway.web.runtime()``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from billing.errors import FileError
from gateway import sealed
from gateway.accounts.passwords import DEFAULT_HASHER, Hasher
from gateway.carriers.base import Transport
from gateway.carriers.registry import build_transports
from gateway.clock import Clock, SystemClock
from gateway.db import make_engine, make_session_factory
from gateway.delivery.mail import Mailer, SmtpMailer
from gateway.delivery.replies import ReplyCatalog, catalog_for
from gateway.delivery.sending import ReplySender
from gateway.delivery.wakeup import INBOUND, OUTBOX, watch_sessions
from gateway.email.recovery import process_requests
from gateway.errors import ConfigError
from gateway.models import EmailRecoveryRequest, OutboxMessage
from gateway.services.forwarding import Forwarder
from gateway.settings import Settings
from gateway.sms.recovery import process_received
from gateway.sms.sim_swap import SimSwapChecks
from gateway.worker import Worker


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the web app, the CLI and the worker build once per process."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    catalog: ReplyCatalog
    # The password hasher; tests swap in one that waits, or a fast one.
    hasher: Hasher = field(default=DEFAULT_HASHER)

    def worker(
        self, transports: Mapping[str, Transport] | None = None, mailer: Mailer | None = None
    ) -> Worker:
        """Build a worker that processes what the SMS and the email channels received and sends
        through ``transports`` and ``mailer`` (the real ones by default: the configured carriers
        and the SMTP relay)."""
        settings, sessions, clock = self.settings, self.session_factory, self.clock
        checked = any(carrier.sim_swap is not None for carrier in settings.carriers.values())
        inbound: tuple[Callable[[], int], ...] = (
            functools.partial(
                process_received,
                sessions,
                settings=settings,
                catalog=self.catalog,
                clock=clock,
                sim_swap=SimSwapChecks.from_settings(settings) if checked else None,
            ),
            functools.partial(process_requests, sessions, settings=settings, clock=clock),
        )
        if settings.services:  # after the SMS batch, so a message it queued goes out at once
            inbound += (Forwarder(sessions, settings=settings, catalog=self.catalog, clock=clock),)
        return Worker(
            settings=settings,
            session_factory=sessions,
            transports=build_transports(settings, clock) if transports is None else transports,
            clock=clock,
            inbound=inbound,
            mailer=SmtpMailer(settings.smtp) if mailer is None else mailer,
            sender=ReplySender(settings),
        )


def build_runtime(settings: Settings, clock: Clock | None = None) -> Runtime:
    """Build the runtime; no connection is opened until the first query."""
    catalog = catalog_for(
        hotline=settings.hotline,
        shortcode=settings.shortcode,
        accept_bhxh=settings.accept_bhxh,
        accept_personal_id=settings.accept_personal_id,
        services=[(s.name, s.keywords[0], s.argument) for s in settings.services.values()],
    )
    catalog.check()
    try:
        # Read the tariffs now, so a broken file stops the start instead of a charge.
        settings.tariffs()
    except FileError as exc:
        raise ConfigError(f"GATEWAY_TARIFFS_FILE={settings.tariffs_file}: {exc}") from exc
    for name, service in settings.services.items():
        try:
            settings.tariffs(name)
        except FileError as exc:
            raise ConfigError(
                f"SERVICE_{name.upper()}_TARIFF={service.tariffs_file}: {exc}"
            ) from exc
    engine = make_engine(settings.database_url)
    sealed.configure(settings.secret_key)
    sessions = make_session_factory(engine)
    if settings.worker_wakeup:
        # What the web's sessions queue for the worker wakes it (the SMS intake, in Core,
        # announces its own messages: gateway/sms/inbox.py).
        watch_sessions(sessions, {OutboxMessage: OUTBOX, EmailRecoveryRequest: INBOUND})
    return Runtime(
        settings=settings,
        engine=engine,
        session_factory=sessions,
        clock=clock or SystemClock(),
        catalog=catalog,
    )
