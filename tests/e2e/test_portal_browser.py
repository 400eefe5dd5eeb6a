"""The portal in a real browser: Debian's Chromium driven by Selenium against real gunicorn.

A person opens /quen-mat-khau, reads the captcha (its answer from the test-only side channel),
gets the OTP by email (a real SMTP server on loopback) and sets a new password, which signs
them in; signed out, they sign in with it. A person with an SMS temporary password is sent to
/doi-mat-khau; a wrong captcha, a wrong code and a weak password show their messages.
Screenshots of every page, at laptop and phone width, land in the test's tmp folder; a failure
prints where.

Skips when Chromium or chromedriver is missing, unless REQUIRE_BROWSER=1 (CI sets it).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.conftest import fresh_database
from tests.e2e.browser import (
    chromium,
    fill,
    require_chromium,
    screenshots,
    severe_console_errors,
    submit,
    wait_replaced,
)
from tests.e2e.support import (
    CARRIER,
    CARRIER_SECRET,
    CarrierStandIn,
    Gateway,
    free_port,
    gateway_environ,
    mo,
    new_mo_id,
    process,
    run_cli,
    serving_carrier,
    signed_post,
    wait_healthy,
)
from tests.smtp_server import SmtpServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

require_chromium()

EMAIL_OWNER = ("0123456789", "0912345678", "nguyen.van.a@example.vn")
SMS_OWNER = ("0987654321", "0913000111")
NEW = "mot cau mat khau moi"
OTP = re.compile(r"là: (\d{6})")
MAIL_DEADLINE = 20.0  # seconds for the worker to match the request and the mail to arrive


@dataclass
class Site:
    """The running gateway, the carrier stand-in, the mailbox and where screenshots go."""

    gateway: Gateway
    carrier: CarrierStandIn
    smtp: SmtpServer
    shots: Path

    def otp_for(self, address: str, after: int) -> str:
        """Wait for a mail to ``address`` beyond the first ``after`` ones; return its code."""
        deadline = time.monotonic() + MAIL_DEADLINE
        while time.monotonic() < deadline:
            mails = [m for m in self.smtp.messages if address in str(m["To"])]
            for mail in mails[after:]:
                body = mail.get_body(preferencelist=("plain",))
                found = OTP.search(body.get_content() if body else "")
                if found:
                    return found[1]
            time.sleep(0.1)
        pytest.fail(f"no code reached {address} in {MAIL_DEADLINE} s\n{self.gateway.output()}")

    def mails_to(self, address: str) -> int:
        return sum(address in str(m["To"]) for m in self.smtp.messages)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("portal")
    with contextlib.ExitStack() as stack:
        carrier: CarrierStandIn = stack.enter_context(serving_carrier(CARRIER_SECRET))
        smtp = SmtpServer()
        smtp.start()
        stack.callback(smtp.stop)
        database_url = stack.enter_context(fresh_database(workdir))
        env = gateway_environ(workdir, carrier, database_url)
        port = free_port()
        env.update(
            {
                "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "GATEWAY_PORTAL_SECURE_COOKIES": "false",  # plain HTTP on loopback
                "GATEWAY_TEST_CAPTCHA_ANSWERS": "true",
                "GATEWAY_SMTP_HOST": "127.0.0.1",
                "GATEWAY_SMTP_PORT": str(smtp.port),
                "GATEWAY_SMTP_SECURITY": "none",
                # One browser on 127.0.0.1 posts all the module's forms within a minute.
                "GATEWAY_RATELIMIT_LOGIN": "60/minute",
            }
        )
        run_cli(env, workdir, "init-db")
        accounts = workdir / "accounts.csv"
        bhxh, phone, email = EMAIL_OWNER
        accounts.write_text(
            "bhxh,phone,email,approved_at\n"
            f"{bhxh},{phone},{email},2020-01-15\n"
            f"{SMS_OWNER[0]},{SMS_OWNER[1]},,2020-01-15\n"
        )
        run_cli(env, workdir, "accounts", "import", str(accounts))
        serve = ["serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
        server, server_log = stack.enter_context(process("server", serve, env, workdir))
        _, worker_log = stack.enter_context(process("worker", ["worker"], env, workdir))
        gateway = Gateway(f"http://127.0.0.1:{port}", {"server": server_log, "worker": worker_log})
        wait_healthy(gateway.url, gateway, server)
        shots = workdir / "screenshots"
        shots.mkdir()
        yield Site(gateway, carrier, smtp, shots)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[WebDriver]:
    with chromium(site.shots.parent / "chromium-profile") as driver:
        yield driver


def page(browser: WebDriver, site: Site, name: str) -> contextlib.AbstractContextManager[None]:
    return screenshots(browser, site.shots, name, site.gateway.output)


def go(browser: WebDriver, site: Site, path: str) -> None:
    browser.get(site.gateway.url + path)


def heading(browser: WebDriver) -> str:
    return browser.find_element(By.TAG_NAME, "h1").text


def error_of(browser: WebDriver, field: str) -> str:
    """The message shown for a field, checked to be the one its input is described by."""
    described = browser.find_element(By.ID, f"f-{field}").get_attribute("aria-describedby") or ""
    assert f"e-{field}" in described.split()
    return browser.find_element(By.ID, f"e-{field}").text


def solve_captcha(browser: WebDriver, site: Site) -> str:
    """Read the captcha's answer from the test-only side channel (never on for people)."""
    captcha_id = browser.find_element(By.NAME, "captcha_id").get_attribute("value")
    answer = requests.get(
        f"{site.gateway.url}/quen-mat-khau/captcha/{captcha_id}/answer", timeout=10
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["answer"])


def ask_for_a_code(browser: WebDriver, site: Site, *, answer: str | None = None) -> None:
    bhxh, _, email = EMAIL_OWNER
    go(browser, site, "/quen-mat-khau")
    fill(browser, bhxh=bhxh, email=email, captcha_answer=answer or solve_captcha(browser, site))
    submit(browser, "main form button[type=submit]")


def sign_out(browser: WebDriver) -> None:
    submit(browser, ".signout button")


def test_a_person_recovers_by_email_and_signs_in_with_the_new_password(
    browser: WebDriver, site: Site
) -> None:
    bhxh, _, email = EMAIL_OWNER
    go(browser, site, "/quen-mat-khau")
    with page(browser, site, "quen-mat-khau"):
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
        assert heading(browser) == "Quên mật khẩu"
        image = browser.find_element(By.CSS_SELECTOR, ".captcha img")
        assert browser.execute_script("return arguments[0].naturalWidth", image) == 160
        footer = browser.find_element(By.ID, "tro-giup").text
        assert "1900 9068" in footer and "BH MK <mã số BHXH> gửi 8079" in footer
    before = site.mails_to(email)
    fill(browser, bhxh=bhxh, email=email, captcha_answer=solve_captcha(browser, site).lower())
    submit(browser, "main form button[type=submit]")
    with page(browser, site, "quen-mat-khau-da-gui"):
        assert "mã xác thực (OTP) đang được" in browser.find_element(By.CLASS_NAME, "notice").text

    code = site.otp_for(email, before)
    fill(browser, otp=code, password=NEW, password2=NEW)
    submit(browser, "main form button[type=submit]")
    with page(browser, site, "quen-mat-khau-xong"):
        assert heading(browser) == "Đã đặt mật khẩu mới"
        assert "bạn đã đăng nhập" in browser.find_element(By.CLASS_NAME, "success").text

    # The code and the new password signed the person in: the button leads to the account.
    submit(browser, "main a.button")  # "Về trang tài khoản": a link, the next page replaces this
    with page(browser, site, "tai-khoan-sau-khi-lay-lai"):
        assert browser.current_url.endswith("/tai-khoan")
        assert heading(browser) == f"Tài khoản {bhxh}"
    sign_out(browser)

    assert browser.current_url.endswith("/dang-nhap")
    fill(browser, bhxh=bhxh, password=NEW)
    submit(browser, "main form button[type=submit]")
    with page(browser, site, "tai-khoan"):
        assert browser.current_url.endswith("/tai-khoan")
        assert heading(browser) == f"Tài khoản {bhxh}"
    sign_out(browser)


def test_a_wrong_captcha_a_wrong_code_and_a_weak_password_are_explained(
    browser: WebDriver, site: Site
) -> None:
    ask_for_a_code(browser, site, answer="ZZZZZ")
    with page(browser, site, "sai-ma-xac-nhan"):
        assert "Mã xác nhận không đúng" in error_of(browser, "captcha_answer")
        assert browser.find_element(By.NAME, "email").get_attribute("value") == EMAIL_OWNER[2]

    go(browser, site, "/quen-mat-khau/otp")
    fill(browser, bhxh=EMAIL_OWNER[0], otp="000000", password="12345678", password2="12345678")
    submit(browser, "main form button[type=submit]")
    with page(browser, site, "mat-khau-yeu"):
        assert "phổ biến nhất" in error_of(browser, "password")
        assert browser.find_element(By.CLASS_NAME, "error-summary").is_displayed()

    fill(browser, otp="000000", password=NEW + " khac", password2=NEW + " khac")
    submit(browser, "main form button[type=submit]")
    with page(browser, site, "sai-otp"):
        assert "Mã OTP không đúng" in error_of(browser, "otp")


def test_a_temporary_password_from_8079_leads_to_the_set_password_page(
    browser: WebDriver, site: Site
) -> None:
    bhxh, phone = SMS_OWNER
    mo_id = new_mo_id()
    answer = signed_post(
        f"{site.gateway.url}/carriers/{CARRIER}/mo", mo(f"BH MK {bhxh}", phone, mo_id)
    )
    assert answer.status_code == 200, answer.text
    reply = site.carrier.wait_for_reply(mo_id, site.gateway).payload["text"]
    temporary = re.search(r"Mat khau: (\w+)\.", reply)
    assert temporary, reply

    go(browser, site, "/dang-nhap")
    with page(browser, site, "dang-nhap"):
        # Keyboard only: Tab to the number, type, Tab to the password, type, Enter.
        old = browser.find_element(By.TAG_NAME, "html")
        for _ in range(8):
            if browser.switch_to.active_element.get_attribute("name") == "bhxh":
                break
            ActionChains(browser).send_keys(Keys.TAB).perform()
        assert browser.switch_to.active_element.get_attribute("name") == "bhxh"
        ActionChains(browser).send_keys(bhxh, Keys.TAB, temporary[1], Keys.ENTER).perform()
    wait_replaced(browser, old)
    with page(browser, site, "doi-mat-khau"):
        assert browser.current_url.endswith("/doi-mat-khau")
        assert "mật khẩu tạm thời" in browser.find_element(By.CLASS_NAME, "notice").text
    go(browser, site, "/tai-khoan/email")
    assert browser.current_url.endswith("/doi-mat-khau")  # nowhere else

    fill(browser, password="aaaaaaaaaaaa", password2="aaaaaaaaaaaa")
    submit(browser, "main form button[type=submit]")
    with page(browser, site, "doi-mat-khau-lap-ky-tu"):
        assert "lặp lại một ký tự" in error_of(browser, "password")
    fill(browser, password=NEW, password2=NEW + "!")
    submit(browser, "main form button[type=submit]")
    assert "không giống nhau" in error_of(browser, "password2")
    fill(browser, password=NEW, password2=NEW)
    submit(browser, "main form button[type=submit]")
    with page(browser, site, "doi-mat-khau-xong"):
        assert heading(browser) == "Đã đổi mật khẩu"
    go(browser, site, "/tai-khoan/email")
    with page(browser, site, "tai-khoan-email"):
        assert heading(browser) == "Thêm email"
    sign_out(browser)


def test_the_browser_reported_no_policy_violation(browser: WebDriver, site: Site) -> None:
    # A refused form answers 400/401, which the browser logs; anything else is a fault.
    refused = re.compile(r"status of (400|401) ")
    errors = [e for e in severe_console_errors(browser) if not refused.search(e["message"])]
    assert errors == []
