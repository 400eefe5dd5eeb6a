"""``gateway staff``: add console staff, hand out enrolment links, change roles, disable them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from gateway.cli.common import acting_user, runtime_of
from gateway.cli.finance_input import BadInput
from gateway.console.roles import ROLES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from gateway.console.staff import Enrolment
    from gateway.runtime import Runtime


@click.group()
def staff() -> None:
    """Manage who may sign in to the finance and operations console (/console)."""


@contextmanager
def _changing(ctx: click.Context) -> Iterator[tuple[Runtime, Session, dt.datetime]]:
    """One staff change in one transaction; a refusal by the use case is a one-line error."""
    from gateway.errors import InvalidPayload

    runtime = runtime_of(ctx)
    with runtime.session_factory.begin() as session:
        try:
            yield runtime, session, runtime.clock.now()
        except InvalidPayload as exc:
            raise BadInput(exc.reason) from exc


@staff.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the member may see.")
@click.pass_context
def add(ctx: click.Context, email: str, role: str) -> None:
    """Create a staff member and print their one-time enrolment link (password + TOTP)."""
    from gateway.console.staff import add_staff, audit

    with _changing(ctx) as (runtime, session, now):
        settings = runtime.settings
        enrolment = add_staff(
            session,
            email,
            role,
            secret_key=settings.secret_key,
            now=now,
            ttl=settings.console_enrol_ttl,
        )
        detail = f"by {acting_user()} role={role}"
        audit(session, enrolment.staff.email, "staff_add", "ok", now, "cli", detail)
    _print_link(ctx, enrolment)


@staff.command("reset")
@click.argument("email")
@click.pass_context
def reset(ctx: click.Context, email: str) -> None:
    """Forget a member's password and authenticator; print a new enrolment link."""
    from gateway.console.staff import audit, reset_staff

    with _changing(ctx) as (runtime, session, now):
        settings = runtime.settings
        enrolment = reset_staff(
            session, email, secret_key=settings.secret_key, now=now, ttl=settings.console_enrol_ttl
        )
        detail = f"by {acting_user()}"
        audit(session, enrolment.staff.email, "staff_reset", "ok", now, "cli", detail)
    _print_link(ctx, enrolment)


@staff.command("disable")
@click.argument("email")
@click.pass_context
def disable(ctx: click.Context, email: str) -> None:
    """Stop a member from signing in and end their sessions at once."""
    from gateway.console.staff import audit, disable_staff

    with _changing(ctx) as (_, session, now):
        member = disable_staff(session, email, now)
        audit(session, member.email, "staff_disable", "ok", now, "cli", f"by {acting_user()}")
    click.echo(f"{member.email}: disabled")


@staff.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@click.pass_context
def role(ctx: click.Context, email: str, role: str) -> None:
    """Give a member another role; their open sessions end, the next sign-in has the new one."""
    from gateway.console.staff import audit, change_role

    with _changing(ctx) as (_, session, now):
        member, before = change_role(session, email, role)
        if before != role:
            detail = f"by {acting_user()} {before} -> {role}"
            audit(session, member.email, "staff_role", "ok", now, "cli", detail)
    if before == role:
        click.echo(f"{member.email}: already {role}")
    else:
        click.echo(f"{member.email}: {before} -> {role}; signed out everywhere")


@staff.command("list")
@click.pass_context
def list_staff(ctx: click.Context) -> None:
    """List staff members, their role and state."""
    from sqlalchemy import select

    from gateway.models import StaffMember

    runtime = runtime_of(ctx)
    with runtime.session_factory() as session:
        for member in session.scalars(select(StaffMember).order_by(StaffMember.email)):
            state = (
                "disabled" if member.disabled_at else "active" if member.enrolled_at else "invited"
            )
            click.echo(f"{member.email}\t{member.role}\t{state}")


def _print_link(ctx: click.Context, enrolment: Enrolment) -> None:
    settings = runtime_of(ctx).settings
    hours = settings.console_enrol_ttl.total_seconds() / 3600
    who = f"{enrolment.staff.email} ({enrolment.staff.role})"
    click.echo(f"{who}: send them this link; it works once, for {hours:g} h:")
    click.echo(f"{settings.public_url}/console/enrol/{enrolment.token}")
