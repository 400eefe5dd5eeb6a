"""What the browser tests share: a served gateway with its mailbox, and the steps that need it.

Each browser test module starts one :func:`serving_site` (gunicorn with two web workers, a
worker process, a carrier stand-in, a real SMTP server on loopback and a fresh database) and
drives it with one Chromium (the ``browser`` fixture in conftest.py).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.browser import fill, screenshots, submit
from tests.e2e.stand_in import CarrierStandIn, MtRequest, serving_carrier
from tests.e2e.support import (
    CARRIER_SECRET,
    Gateway,
    gateway_cli,
    new_mo_id,
    post_mo,
    serving_gateway,
)
from tests.smtp_server import SmtpServer

MAIL_DEADLINE = 20.0  # seconds for the worker to send a mail and the mail to arrive
MAILED_CODE = re.compile(r"là: (\d{6})")  # an emailed code
TEMPORARY = re.compile(r"Mat khau: (\w+)\.")  # the SMS that carries a temporary password


@dataclass
class Site:
    """The running gateway, the carrier stand-in, the mailbox, the CLI's environment and
    where screenshots and downloads go."""

    gateway: Gateway
    carrier: CarrierStandIn
    smtp: SmtpServer
    env: dict[str, str]
    workdir: Path
    shots: Path
    downloads: Path

    def cli(self, *args: str) -> str:
        """Run a gateway command (it may answer 1, "not found" or "differs"); return its output."""
        result = gateway_cli(self.env, self.workdir, *args)
        assert result.returncode in (0, 1), result.stderr
        return result.stdout

    def mails_to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.smtp.messages if address in str(m["To"])]

    def wait_for_mail(self, address: str, subject: str = "", after: int = 0) -> EmailMessage:
        """Wait for a mail to ``address`` past its first ``after`` whose subject has ``subject``."""
        return self._wait(address, after, lambda mail: subject in str(mail["Subject"]))

    def mailed_code(self, address: str, after: int = 0) -> str:
        """Wait for a mail with a code to ``address`` past its first ``after``; return the code."""
        mail = self._wait(address, after, lambda mail: MAILED_CODE.search(plain_text(mail)))
        return MAILED_CODE.search(plain_text(mail))[1]  # type: ignore[index]

    def _wait(
        self, address: str, after: int, wanted: Callable[[EmailMessage], object]
    ) -> EmailMessage:
        deadline = time.monotonic() + MAIL_DEADLINE
        while time.monotonic() < deadline:
            for mail in self.mails_to(address)[after:]:
                if wanted(mail):
                    return mail
            time.sleep(0.1)
        pytest.fail(f"no such mail reached {address} in {MAIL_DEADLINE} s\n{self.gateway.output()}")

    def texted(self, text: str, phone: str) -> MtRequest:
        """Text 8079 from ``phone``; return the reply once the carrier stand-in has it."""
        mo_id = new_mo_id()
        answer = post_mo(self.gateway, text, phone, mo_id)
        assert answer.status_code == 200, answer.text
        return self.carrier.wait_for_reply(mo_id, self.gateway)

    def temporary_password(self, bhxh: str, phone: str) -> str:
        """Text BH MK from the registered phone; return the password in the reply."""
        reply = self.texted(f"BH MK {bhxh}", phone).payload["text"]
        found = TEMPORARY.search(reply)
        assert found, reply
        return found[1]


@contextlib.contextmanager
def serving_site(
    workdir: Path, accounts: Sequence[str], settings: Mapping[str, str], host: str = "127.0.0.1"
) -> Iterator[Site]:
    """Serve the gateway with a mailbox and these accounts until the block ends.

    ``accounts``: rows of ``bhxh,phone,email,approved_at``; ``settings``: the module's own
    variables; ``host``: the name the browser reaches the gateway by.
    """
    with contextlib.ExitStack() as stack:
        carrier: CarrierStandIn = stack.enter_context(serving_carrier(CARRIER_SECRET))
        smtp = SmtpServer()
        smtp.start()
        stack.callback(smtp.stop)
        settings = {
            "GATEWAY_PORTAL_SECURE_COOKIES": "false",  # plain HTTP on loopback
            "GATEWAY_CONSOLE_SECURE_COOKIES": "false",
            "GATEWAY_SMTP_HOST": "127.0.0.1",
            "GATEWAY_SMTP_PORT": str(smtp.port),
            "GATEWAY_SMTP_SECURITY": "none",
            **settings,
        }
        gateway, env = stack.enter_context(
            serving_gateway(workdir, carrier, settings, accounts, host=host)
        )
        shots, downloads = workdir / "screenshots", workdir / "downloads"
        shots.mkdir()
        downloads.mkdir()
        yield Site(gateway, carrier, smtp, env, workdir, shots, downloads)


def plain_text(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    return str(body.get_content()) if body else ""


# --- in the browser --------------------------------------------------------------------


def page(
    browser: WebDriver, site: Site, name: str, *, whole: bool = False, audit: bool = True
) -> contextlib.AbstractContextManager[None]:
    """Check a page state: screenshots at laptop and phone width and, unless not ``audit``, axe."""
    return screenshots(browser, site.shots, name, site.gateway.output, whole=whole, audit=audit)


def go(browser: WebDriver, site: Site, path: str) -> None:
    browser.get(site.gateway.url + path)


def sign_in(browser: WebDriver, site: Site, bhxh: str, password: str) -> None:
    go(browser, site, "/dang-nhap")
    fill(browser, bhxh=bhxh, password=password)
    submit(browser, "main form button[type=submit]")
