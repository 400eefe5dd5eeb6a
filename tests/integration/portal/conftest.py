"""Portal fixtures: a person with a browser-like client, their mailbox and a running worker."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from gateway.clock import FakeClock
from gateway.delivery.mail import FakeMailer
from gateway.settings import load_settings
from gateway.worker import Worker
from tests.conftest import make_app
from tests.email_harness import OTP

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CAPTCHA = re.compile(r'name="captcha_id" value="([0-9a-f]+)"')
EMAIL = "nguyen.van.a@example.vn"


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    # The test client speaks plain HTTP on loopback: the captcha side channel is allowed.
    environ["GATEWAY_PORTAL_SECURE_COOKIES"] = "false"
    environ["GATEWAY_TEST_CAPTCHA_ANSWERS"] = "true"
    return environ


@contextmanager
def app_with(environ: Mapping[str, str], **changes: str) -> Iterator[Flask]:
    """A second app on the test's database with some settings changed, disposed after."""
    app = make_app(load_settings({**environ, **changes}), FakeClock())
    try:
        yield app
    finally:
        app.extensions["gateway"].engine.dispose()


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def csrf_of(response: TestResponse) -> str:
    found = _CSRF.search(text(response))
    assert found, text(response)[:500]
    return found[1]


@dataclass
class Person:
    """Someone at the portal in a browser: pages, forms, and the mailbox the worker fills."""

    client: FlaskClient
    worker: Worker
    mailer: FakeMailer

    def submit(
        self, path: str, data: dict[str, str], *, page: str | None = None, follow: bool = False
    ) -> TestResponse:
        """Load a page for its CSRF token, post its form, then let the worker run.

        ``follow``: answer with the page a post/redirect/get leads to.
        """
        token = csrf_of(self.client.get(page or path))
        response = self.client.post(
            path, data={"csrf_token": token, **data}, follow_redirects=follow
        )
        self.worker.drain()
        return response

    def ask(
        self, bhxh: str = "0123456789", email: str = EMAIL, *, answer: str | None = None
    ) -> TestResponse:
        """Fill /quen-mat-khau as a browser without JavaScript would (the image captcha),
        solving it unless ``answer`` is given; answer with the page the redirect leads to."""
        page = self.client.get("/quen-mat-khau")
        captcha_id = _CAPTCHA.search(text(page))
        assert captcha_id, text(page)[:500]
        if answer is None:
            side = self.client.get(f"/quen-mat-khau/captcha/{captcha_id[1]}/answer")
            answer = side.get_json()["answer"]
        data = {
            "csrf_token": csrf_of(page),
            "captcha_id": captcha_id[1],
            "captcha_answer": answer,
            "bhxh": bhxh,
            "email": email,
        }
        response = self.client.post("/quen-mat-khau", data=data, follow_redirects=True)
        self.worker.drain()
        return response

    def last_otp(self, address: str = EMAIL) -> str:
        found = OTP.search(self.mailer.to(address)[-1].text)
        assert found
        return found[1]


@pytest.fixture
def person(app: Flask, mail_worker: Worker, mailer: FakeMailer) -> Person:
    return Person(app.test_client(), mail_worker, mailer)
