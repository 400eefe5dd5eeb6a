"""Console fixtures: staff members enrolled the way a person would, and a signed-in browser."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape

import pyotp
import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from gateway.carriers.fake import FakeTransport
from gateway.clock import FakeClock
from gateway.console.staff import add_staff
from gateway.delivery.mail import FakeMailer
from gateway.runtime import Runtime
from tests.conftest import CARRIER_SECRETS, signed_post

PASSWORD = "a long staff passphrase"
ENROL_PAGE = "/console/enrol"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_MAILED_CODE = re.compile(r"là: (\d{6})")


@dataclass
class Member:
    """A staff member the test can sign in as."""

    email: str
    role: str
    secret: str
    clock: FakeClock

    def code(self) -> str:
        """Return the authenticator's code for the next unused 30 s step."""
        self.clock.advance(seconds=30)
        return pyotp.TOTP(self.secret).at(self.clock.now())


def csrf_of(response: TestResponse) -> str:
    """Return the CSRF token of the first form on a page."""
    found = _CSRF.search(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:500]
    return found[1]


def confirm_refunds(
    client: FlaskClient, form: dict[str, object], *, page: str = "/console/refunds"
) -> TestResponse:
    """Send the refunds page's form (loaded from ``page``) to its confirmation step."""
    return post_form(client, "/console/refunds/confirm", form, page=page)


def text_of(html: str, element_id: str) -> str:
    """Return the text of the element with ``element_id`` (one without child elements)."""
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found, element_id
    return unescape(found[1])


def receive(client: FlaskClient, clock: FakeClock, message_id: str) -> None:
    """Store "BH MK 0123456789" from 0912345678 as viettel delivers it; the worker not run."""
    mo = {"id": message_id, "from": "0912345678", "to": "8079", "text": "BH MK 0123456789"}
    answer = signed_post(
        client, "/carriers/viettel/mo", mo, secret=CARRIER_SECRETS["viettel"], clock=clock
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)


def post_form(
    client: FlaskClient, path: str, data: dict[str, object], *, page: str | None = None
) -> TestResponse:
    """Load a page for its CSRF token, then post the form as a browser would."""
    token = csrf_of(client.get(page or path))
    return client.post(path, data={"csrf_token": token, **data})


def enrol_link(runtime: Runtime, email: str, role: str) -> str:
    """Create a member as ``gateway staff add`` does; return the enrolment path."""
    with runtime.session_factory.begin() as session:
        enrolment = add_staff(
            session,
            email,
            role,
            secret_key=runtime.settings.secret_key,
            now=runtime.clock.now(),
            ttl=runtime.settings.console_enrol_ttl,
        )
    return f"/console/enrol/{enrolment.token}"


def secret_on(page: TestResponse) -> str:
    found = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)[:2000]
    return found[1]


def open_link(client: FlaskClient, link: str) -> TestResponse:
    """Open an enrolment link as a browser does: the token becomes a cookie, then the page
    without it loads (and a code goes to the member's address)."""
    swap = client.get(link)
    assert swap.status_code == 200, swap.get_data(as_text=True)
    assert ENROL_PAGE in swap.get_data(as_text=True)
    return client.get(ENROL_PAGE)


@dataclass
class Mailbox:
    """The staff's mailboxes: the worker sends what the console queued; the test reads it."""

    runtime: Runtime
    mailer: FakeMailer = field(default_factory=FakeMailer)

    def code_for(self, email: str) -> str:
        """Send the queued mail, and return the newest enrolment code ``email`` received."""
        carriers = {name: FakeTransport() for name in self.runtime.settings.carriers}
        self.runtime.worker(carriers, self.mailer).dispatch_outbox()
        mails = self.mailer.to(email)
        codes = [found[1] for mail in mails if (found := _MAILED_CODE.search(mail.text))]
        assert codes, mails
        return codes[-1]


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    # The Flask test client speaks plain HTTP; one test checks the Secure flag on its own.
    return {**environ, "GATEWAY_CONSOLE_SECURE_COOKIES": "false"}


@pytest.fixture
def mailbox(runtime: Runtime) -> Mailbox:
    return Mailbox(runtime)


def seed_page(client: FlaskClient, mailbox: Mailbox, link: str, email: str) -> TestResponse:
    """Open the link and type the mailed code: the page with the QR code and the seed."""
    page = open_link(client, link)
    answer = client.post(
        ENROL_PAGE,
        data={"csrf_token": csrf_of(page), "step": "email", "code": mailbox.code_for(email)},
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return client.get(ENROL_PAGE)


def finish_enrolment(client: FlaskClient, page: TestResponse, code: str) -> TestResponse:
    """Choose the password and type the authenticator's first code on the seed page."""
    form = {"step": "finish", "password": PASSWORD, "password2": PASSWORD, "code": code}
    return client.post(ENROL_PAGE, data={"csrf_token": csrf_of(page), **form})


def enrol(
    client: FlaskClient, mailbox: Mailbox, clock: FakeClock, role: str, email: str | None = None
) -> Member:
    """Add a member of ``role`` and enrol them through the enrolment pages."""
    email = email or f"{role}@example.vn"
    page = seed_page(client, mailbox, enrol_link(mailbox.runtime, email, role), email)
    member = Member(email, role, secret_on(page), clock)
    answer = finish_enrolment(client, page, member.code())
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return member


@pytest.fixture
def enrolled(client: FlaskClient, mailbox: Mailbox, clock: FakeClock) -> Callable[..., Member]:
    """Add and enrol a member through the enrolment pages."""
    return lambda role, email=None: enrol(client, mailbox, clock, role, email)


def sign_in(client: FlaskClient, member: Member, *, password: str = PASSWORD) -> TestResponse:
    return post_form(
        client,
        "/console/sign-in",
        {"email": member.email, "password": password, "code": member.code()},
    )


SignIn = Callable[[str], Member]  # the ``signed_in`` fixture: a role in, a signed-in member out


@pytest.fixture
def signed_in(client: FlaskClient, enrolled: Callable[..., Member]) -> SignIn:
    """Enrol a member of ``role`` and sign the test client in as them."""

    def make(role: str) -> Member:
        member = enrolled(role)
        answer = sign_in(client, member)
        assert answer.status_code == 302, answer.get_data(as_text=True)
        return member

    return make


# The finance CLI tests' month of messages (texted through the real SMS path) and their CLI
# runner: the console must show and send exactly what those commands print.
from tests.integration.finance.test_finance_cli import month, run  # noqa: E402, F401
