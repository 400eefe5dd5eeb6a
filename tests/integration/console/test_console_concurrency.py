"""Staff sign-ins (and enrolment codes) that arrive together: a code still works once, and
every failure still counts.

Real threads, each with its own test client (so its own request and database session), start
their sign-ins at one barrier. SQLite lets one writer in at a time; on PostgreSQL
(TEST_DATABASE_URL) the sign-in must lock the member's row itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.models import AuditEvent, StaffMember
from gateway.runtime import Runtime
from tests.integration.console.conftest import (
    ENROL_PAGE,
    PASSWORD,
    Mailbox,
    Member,
    csrf_of,
    enrol_link,
    open_link,
)


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    # Every sign-in hashes; all of them must get a hashing slot instead of a quick 429.
    environ["GATEWAY_HASH_WAIT"] = "60"
    environ["GATEWAY_WEB_THREADS"] = "32"
    return environ


def simultaneous_sign_ins(app: Flask, forms: list[dict[str, str]]) -> list[int]:
    """Post each form to the sign-in page from its own client, all at once."""
    clients = [app.test_client() for _ in forms]
    return simultaneous_posts(clients, "/console/sign-in", forms)


def simultaneous_posts(
    clients: list[FlaskClient], path: str, forms: list[dict[str, str]]
) -> list[int]:
    """Post each form to ``path`` from its own client, all at once; return the statuses."""
    tokens = [csrf_of(client.get(path)) for client in clients]
    start = threading.Barrier(len(forms))
    statuses: list[int] = []
    failures: list[BaseException] = []

    def post(index: int) -> None:
        try:
            start.wait()
            answer = clients[index].post(path, data={"csrf_token": tokens[index], **forms[index]})
            statuses.append(answer.status_code)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(forms))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    return sorted(statuses)


def test_one_code_signs_in_once_when_six_sign_ins_arrive_together(
    app: Flask, enrolled: Callable[..., Member], session: Session
) -> None:
    member = enrolled("finance")
    form = {"email": member.email, "password": PASSWORD, "code": member.code()}

    statuses = simultaneous_sign_ins(app, [form] * 6)

    assert statuses == [302] + [401] * 5
    outcomes = session.scalars(
        select(AuditEvent.outcome).where(AuditEvent.action == "staff_sign_in")
    ).all()
    assert outcomes.count("ok") == 1


def test_eight_wrong_passwords_together_count_as_eight_tries(
    app: Flask, enrolled: Callable[..., Member], session: Session
) -> None:
    member = enrolled("finance")
    form = {"email": member.email, "password": "a wrong guess", "code": member.code()}

    statuses = simultaneous_sign_ins(app, [form] * 8)

    assert statuses == [401] * 8
    staff = session.scalars(select(StaffMember)).one()
    # Exactly as eight in a row: three failures are free, the third starts a 1 s wait, and the
    # five that find the wait are refused without counting.
    assert staff.failed_signins == 3
    outcomes = session.scalars(
        select(AuditEvent.outcome).where(AuditEvent.action == "staff_sign_in")
    ).all()
    assert sorted(outcomes) == ["refused"] * 3 + ["throttled"] * 5


def test_eight_wrong_mailed_codes_together_all_count(
    app: Flask, runtime: Runtime, mailbox: Mailbox, session: Session
) -> None:
    link = enrol_link(runtime, "lan@example.vn", "finance")
    clients = [app.test_client() for _ in range(8)]
    for client in clients:  # whoever holds the link, eight times over
        open_link(client, link)
    code = mailbox.code_for("lan@example.vn")
    wrong = {"step": "email", "code": "000000" if code != "000000" else "111111"}

    statuses = simultaneous_posts(clients, ENROL_PAGE, [wrong] * 8)

    assert statuses == [400] * 8
    assert session.scalars(select(StaffMember.enrol_code_failures)).one() == 8
