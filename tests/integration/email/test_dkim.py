"""Outbound mail carries a DKIM signature that verifies against the published public key."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dkim
import pytest
from aiosmtpd.controller import Controller

from gateway.delivery.mail import OutboundEmail, SmtpMailer
from gateway.errors import ConfigError
from gateway.settings import load_settings
from tests.conftest import base_environ
from tests.integration.email.conftest import loopback_smtp
from tests.smtp_server import _free_port

SENDER = "BHXH Việt Nam <no-reply@baohiemxahoi.example>"


class RawRecorder:
    """Keeps each message exactly as it crossed the wire."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(envelope.original_content or envelope.content)
        return "250 2.0.0 OK: queued"


@pytest.fixture
def relay() -> Iterator[tuple[RawRecorder, int]]:
    recorder, port = RawRecorder(), _free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield recorder, port
    controller.stop()


@pytest.fixture
def key_pair(tmp_path: Path) -> tuple[Path, bytes]:
    """A fresh 2048-bit RSA key file, and its DNS record as a receiver would fetch it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "der"],
        check=True,
        capture_output=True,
    ).stdout
    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def email(text: str = "Mã xác thực của bạn là 123456.") -> OutboundEmail:
    return OutboundEmail(
        reference="1",
        message_id="<outbox.1.1764063000@baohiemxahoi.example>",
        sender=SENDER,
        recipient="nguyen.van.a@example.vn",
        subject="Mã xác thực khôi phục mật khẩu VssID",
        text=text,
        html="<p>" + text + "</p>",
        date=dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC),
    )


def mailer(tmp_path: Path, port: int, **extra: str) -> SmtpMailer:
    env = {
        **base_environ(tmp_path),
        **loopback_smtp(port),
        "GATEWAY_SMTP_FROM": SENDER,
        **extra,
    }
    return SmtpMailer(load_settings(env).smtp)


def test_a_signed_email_verifies_and_a_tampered_one_does_not(
    tmp_path: Path, relay: tuple[RawRecorder, int], key_pair: tuple[Path, bytes]
) -> None:
    recorder, port = relay
    key, record = key_pair
    asked: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        asked.append(name)
        return record

    mailer(tmp_path, port, GATEWAY_DKIM_KEY_FILE=str(key), GATEWAY_DKIM_SELECTOR="gw2026").send(
        email()
    )

    [raw] = recorder.raw
    assert raw.startswith(b"DKIM-Signature:")
    assert b"d=baohiemxahoi.example" in raw
    assert dkim.verify(raw, dnsfunc=dns)
    assert asked == [b"gw2026._domainkey.baohiemxahoi.example."]
    forged = raw.replace(b"123456", b"654321")
    assert forged != raw
    assert not dkim.verify(forged, dnsfunc=dns)


def test_without_a_key_mail_goes_unsigned(tmp_path: Path, relay: tuple[RawRecorder, int]) -> None:
    recorder, port = relay

    mailer(tmp_path, port).send(email())

    assert b"DKIM-Signature" not in recorder.raw[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"GATEWAY_DKIM_SELECTOR": "gw2026"}, "GATEWAY_DKIM_KEY_FILE is not"),
        ({"GATEWAY_DKIM_KEY_FILE": "/nonexistent/dkim.pem", "GATEWAY_DKIM_SELECTOR": "s"},
         "GATEWAY_DKIM_KEY_FILE=/nonexistent/dkim.pem"),
        ({"GATEWAY_DKIM_KEY_FILE": __file__, "GATEWAY_DKIM_SELECTOR": "s"},
         "not a PEM private key"),
    ],
)  # fmt: skip
def test_dkim_settings_are_checked_at_start(
    tmp_path: Path, extra: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({**base_environ(tmp_path), **extra})
