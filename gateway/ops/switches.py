"""Runtime switches stored in the database, so operators can change behaviour without a redeploy.

A switch that was never set falls back to its setting (e.g. GATEWAY_SMS_RESET_ENABLED). Each
keyword service has one (``service-<name>``), on until someone, or its failures in a row
(gateway/services/forwarding.py), turns it off; it says who and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.models import Switch

SMS_RESET = "sms-reset"
KNOWN = (SMS_RESET,)
SERVICE_PREFIX = "service-"
AUTO = "auto"  # the actor of a switch a keyword service's failures turned off


def service_switch(service: str) -> str:
    """Name the switch of one keyword service."""
    return SERVICE_PREFIX + service


def services_off(session: Session) -> frozenset[str]:
    """Return the keyword services whose switch is off."""
    names = session.scalars(
        select(Switch.name).where(
            Switch.name.startswith(SERVICE_PREFIX, autoescape=True), Switch.enabled.is_(False)
        )
    )
    return frozenset(name.removeprefix(SERVICE_PREFIX) for name in names)


@dataclass(frozen=True, slots=True)
class ServiceState:
    """A keyword service's switch as the console shows it (on, unless someone or its failures
    turned it off)."""

    service: str
    enabled: bool
    actor: str | None = None
    reason: str | None = None
    updated_at: dt.datetime | None = None


def service_states(session: Session, services: Iterable[str]) -> list[ServiceState]:
    """Return the switch of each of ``services``, in their order."""
    names = {service_switch(service): service for service in services}
    found = {
        switch.name: switch
        for switch in session.scalars(select(Switch).where(Switch.name.in_(names)))
    }
    return [
        ServiceState(service, True)
        if (switch := found.get(name)) is None
        else ServiceState(service, switch.enabled, switch.actor, switch.reason, switch.updated_at)
        for name, service in names.items()
    ]


def is_enabled(session: Session, name: str, *, default: bool) -> bool:
    """Tell whether a switch is on; fall back to ``default`` when nobody has set it."""
    value = session.scalar(select(Switch.enabled).where(Switch.name == name))
    return default if value is None else value


def set_switch(
    session: Session,
    name: str,
    enabled: bool,
    now: dt.datetime,
    *,
    actor: str | None = None,
    reason: str | None = None,
) -> None:
    """Turn a switch on or off, saying who did and why."""
    if name not in KNOWN and not name.startswith(SERVICE_PREFIX):
        raise ValueError(f"unknown switch {name!r}; known: {', '.join(KNOWN)}, service-<name>")
    switch = session.get(Switch, name)
    if switch is None:
        switch = Switch(name=name)
        session.add(switch)
    switch.enabled = enabled
    switch.updated_at = now
    switch.actor = None if actor is None else actor[:64]
    switch.reason = None if reason is None else reason[:200]


def clear_switch(session: Session, name: str) -> None:
    """Forget a switch, so its setting decides again."""
    switch = session.get(Switch, name)
    if switch is not None:
        session.delete(switch)
