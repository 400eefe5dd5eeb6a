"""Admins manage staff in the browser: add (one-time link), reset, disable; nobody else can."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.clock import FakeClock
from gateway.models import AuditEvent, StaffMember
from tests.integration.console.conftest import (
    Mailbox,
    Member,
    SignIn,
    csrf_of,
    finish_enrolment,
    post_form,
    secret_on,
    seed_page,
    sign_in,
)


def enrol_from(
    client: FlaskClient, mailbox: Mailbox, html: str, clock: FakeClock, email: str, role: str
) -> Member:
    link = re.search(r'id="enrol-link">http://localhost:8000(/console/enrol/[^<]+)<', html)
    assert link, html
    page = seed_page(client, mailbox, link[1], email)
    member = Member(email, role, secret_on(page), clock)
    assert finish_enrolment(client, page, member.code()).status_code == 200
    return member


def test_an_admin_adds_a_member_who_enrols_with_the_link_shown_once(
    app: Flask,
    client: FlaskClient,
    signed_in: SignIn,
    clock: FakeClock,
    mailbox: Mailbox,
    session: Session,
) -> None:
    admin = signed_in("admin")

    answer = post_form(client, "/console/staff", {"email": "Hoa@Example.vn", "role": "operator"})

    assert answer.status_code == 200
    newcomer = app.test_client()
    member = enrol_from(
        newcomer, mailbox, answer.get_data(as_text=True), clock, "hoa@example.vn", "operator"
    )
    assert sign_in(newcomer, member).headers["Location"] == "/console/overview"
    listing = client.get("/console/staff").get_data(as_text=True)
    assert "hoa@example.vn" in listing and "/console/enrol/" not in listing
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "staff_add")).one()
    assert event.subject == admin.email and "hoa@example.vn role=operator" in (event.detail or "")


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"email": "not-an-email", "role": "finance"}, "is not an email address"),
        ({"email": "x@example.vn", "role": "root"}, "role must be one of"),
        ({"email": "admin@example.vn", "role": "finance"}, "already a staff member"),
    ],
)
def test_a_bad_addition_is_refused_and_adds_nobody(
    client: FlaskClient, signed_in: SignIn, session: Session, form: dict[str, str], message: str
) -> None:
    signed_in("admin")

    answer = post_form(client, "/console/staff", form, page="/console/staff")

    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)
    assert len(session.scalars(select(StaffMember)).all()) == 1


def test_reset_and_disable_need_a_confirmation_and_end_the_members_sessions(
    app: Flask,
    client: FlaskClient,
    signed_in: SignIn,
    enrolled: Callable[..., Member],
    session: Session,
    clock: FakeClock,
    mailbox: Mailbox,
) -> None:
    other = app.test_client()
    member = enrolled("finance", "lan@example.vn")
    sign_in(other, member)
    admin = signed_in("admin")
    target = session.scalars(select(StaffMember).where(StaffMember.email == member.email)).one()
    path = f"/console/staff/{target.id}"

    unconfirmed = post_form(client, f"{path}/reset", {}, page="/console/staff")
    assert unconfirmed.status_code == 400
    assert other.get("/console/charges").status_code == 200

    reset = post_form(client, f"{path}/reset", {"confirm": "yes"}, page="/console/staff")
    assert reset.status_code == 200
    assert other.get("/console/charges").status_code == 302  # signed out
    assert sign_in(other, member).status_code == 401  # the old password and TOTP are gone
    html = reset.get_data(as_text=True)
    again = enrol_from(other, mailbox, html, clock, member.email, "finance")
    assert sign_in(other, again).status_code == 302

    disabled = post_form(client, f"{path}/disable", {"confirm": "yes"}, page="/console/staff")
    assert disabled.status_code == 303
    assert other.get("/console/charges").status_code == 302
    me = session.scalars(select(StaffMember).where(StaffMember.email == admin.email)).one()
    self_disable = post_form(
        client, f"/console/staff/{me.id}/disable", {"confirm": "yes"}, page="/console/staff"
    )
    assert self_disable.status_code == 400


@pytest.mark.parametrize("role", ["finance", "operator"])
def test_only_an_admin_may_add_or_change_staff(
    client: FlaskClient, signed_in: SignIn, session: Session, role: str
) -> None:
    member = signed_in(role)
    token = csrf_of(client.get("/console/sign-in"))
    me = session.scalars(select(StaffMember)).one()

    added = client.post(
        "/console/staff", data={"csrf_token": token, "email": "x@example.vn", "role": "admin"}
    )
    promoted = client.post(
        f"/console/staff/{me.id}/reset", data={"csrf_token": token, "confirm": "yes"}
    )

    assert (added.status_code, promoted.status_code) == (403, 403)
    assert [s.email for s in session.scalars(select(StaffMember))] == [member.email]


def test_an_admin_changes_a_role_and_the_old_rights_end_at_once(
    app: Flask,
    client: FlaskClient,
    signed_in: SignIn,
    enrolled: Callable[..., Member],
    session: Session,
) -> None:
    other = app.test_client()
    member = enrolled("admin", "lan@example.vn")
    sign_in(other, member)
    assert other.get("/console/staff").status_code == 200  # an admin page, while still admin
    signed_in("admin")
    target = session.scalars(select(StaffMember).where(StaffMember.email == member.email)).one()

    changed = post_form(
        client, f"/console/staff/{target.id}/role", {"role": "finance"}, page="/console/staff"
    )

    assert changed.status_code == 303
    assert other.get("/console/staff").status_code == 302  # the open session ended
    demoted = Member(member.email, "finance", member.secret, member.clock)
    assert sign_in(other, demoted).status_code == 302
    assert other.get("/console/staff").status_code == 403  # signed in again: finance only
    session.expire_all()
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "staff_role")).all()
    assert len(audit) == 1
    assert f"staff role {member.email} admin -> finance" in str(audit[0].detail)


def test_a_role_change_refuses_a_bad_role_and_ones_own(
    client: FlaskClient, signed_in: SignIn, session: Session
) -> None:
    admin = signed_in("admin")
    me = session.scalars(select(StaffMember).where(StaffMember.email == admin.email)).one()
    path = f"/console/staff/{me.id}/role"

    own = post_form(client, path, {"role": "finance"}, page="/console/staff")
    nobody = post_form(
        client, "/console/staff/9999/role", {"role": "finance"}, page="/console/staff"
    )

    assert (own.status_code, nobody.status_code) == (400, 400)
    session.expire_all()
    assert session.get(StaffMember, me.id).role == "admin"
