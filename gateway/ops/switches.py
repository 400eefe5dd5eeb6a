"""Runtime switches stored in the database, so operators can change behaviour without a redeploy.

A switch that was never set falls back to its setting (e.g. GATEWAY_SMS_RESET_ENABLED).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.models import Switch

SMS_RESET = "sms-reset"
KNOWN = (SMS_RESET,)


def is_enabled(session: Session, name: str, *, default: bool) -> bool:
    """Tell whether a switch is on; fall back to ``default`` when nobody has set it."""
    value = session.scalar(select(Switch.enabled).where(Switch.name == name))
    return default if value is None else value


def set_switch(session: Session, name: str, enabled: bool, now: dt.datetime) -> None:
    """Turn a switch on or off."""
    if name not in KNOWN:
        raise ValueError(f"unknown switch {name!r}; known: {', '.join(KNOWN)}")
    switch = session.get(Switch, name)
    if switch is None:
        session.add(Switch(name=name, enabled=enabled, updated_at=now))
    else:
        switch.enabled = enabled
        switch.updated_at = now


def clear_switch(session: Session, name: str) -> None:
    """Forget a switch, so its setting decides again."""
    switch = session.get(Switch, name)
    if switch is not None:
        session.delete(switch)
