"""The audit trail: every recovery, password change and email event, with personal data masked.

A row says who (a masked identifier or phone), what, through which channel, when and with
what outcome. It is written in the transaction of the event itself, so the trail never
claims an event that was rolled back, nor misses one that happened.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from gateway.models import AuditEvent


def record_event(
    session: Session,
    *,
    action: str,
    channel: str,
    outcome: str,
    subject: str,
    now: dt.datetime,
    account_id: int | None = None,
    actor: str = "user",
    detail: str | None = None,
    client_ip: str | None = None,
) -> None:
    """Add one audit row; ``subject`` and ``detail`` must already be masked."""
    session.add(
        AuditEvent(
            at=now,
            account_id=account_id,
            actor=actor,
            subject=subject[:64],
            action=action,
            channel=channel,
            outcome=outcome,
            detail=detail[:200] if detail else None,
            client_ip=client_ip[:45] if client_ip else None,
        )
    )
