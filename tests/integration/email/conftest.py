"""Email fixtures: the app's credential for the JSON API, a user with a mailbox, and the
settings that send through the loopback SMTP server."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from gateway.delivery.mail import FakeMailer
from gateway.worker import Worker
from tests.conftest import base_environ
from tests.email_harness import APP_CREDENTIAL, EmailUser


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """The settings, with the VssID app's credential for the email API."""
    return {**base_environ(tmp_path), "GATEWAY_APP_CREDENTIAL": APP_CREDENTIAL}


@pytest.fixture
def user(client: FlaskClient, mail_worker: Worker, mailer: FakeMailer) -> EmailUser:
    """Someone using the email API, whose mailbox the worker fills."""
    return EmailUser(client, mail_worker, mailer)


def loopback_smtp(port: int) -> dict[str, str]:
    """The settings that send email to the test SMTP server on ``port``, in the clear."""
    return {
        "GATEWAY_SMTP_HOST": "127.0.0.1",
        "GATEWAY_SMTP_PORT": str(port),
        "GATEWAY_SMTP_SECURITY": "none",
    }
