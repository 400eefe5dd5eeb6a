"""Smart OTP in a real browser: Debian's Chromium driven by Selenium against real gunicorn.

A citizen gets a temporary password by SMS from 8079 and sets their own; on Tài khoản →
Smart OTP they press "Bật Smart OTP", copy the seed into the app (pyotp, on real time here)
and type its code with the keyboard alone. Signed out, they recover with the number and a
fresh code from the app, see Smart OTP in the review on /doi-mat-khau, set a new password and
sign in with it. Screenshots of every page, at laptop and phone width, land in the test's tmp
folder; a failure prints where.

Codes are real RFC 6238 codes, each accepted once: the recovery waits for the app's next
30-second code when the one that turned Smart OTP on is still showing (at most one wait).

Skips when Chromium or chromedriver is missing, unless REQUIRE_BROWSER=1 (CI sets it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pyotp
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.conftest import fresh_database
from tests.e2e.browser import (
    LAPTOP,
    PHONE_SIZE,
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

OWNER = ("0123456789", "0912345678", "nguyen.van.a@example.vn")
FIRST = "cau mat khau dau tien"
NEW = "mot cau mat khau moi"
STEP = 30  # seconds: one code of the app
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MAIL_DEADLINE = 20.0  # seconds for the worker to send a notice and the mail to arrive
TABS = 20  # how many Tab presses may separate the top of a page from its code field


@dataclass
class Site:
    """The running gateway, the carrier stand-in, the mailbox and where screenshots go."""

    gateway: Gateway
    carrier: CarrierStandIn
    smtp: SmtpServer
    shots: Path

    def wait_for_mail(self, address: str, subject: str) -> None:
        """Wait until a mail with ``subject`` reaches ``address``."""
        deadline = time.monotonic() + MAIL_DEADLINE
        while time.monotonic() < deadline:
            if any(
                address in str(m["To"]) and subject in str(m["Subject"]) for m in self.smtp.messages
            ):
                return
            time.sleep(0.1)
        pytest.fail(f"no “{subject}” reached {address}\n{self.gateway.output()}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("smart-otp")
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
                # No passkey here: an IP address as the public URL is fine (passkeys stay off).
                "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "GATEWAY_PORTAL_SECURE_COOKIES": "false",  # plain HTTP on loopback
                "GATEWAY_SMTP_HOST": "127.0.0.1",
                "GATEWAY_SMTP_PORT": str(smtp.port),
                "GATEWAY_SMTP_SECURITY": "none",
                # One browser on 127.0.0.1 posts all the module's forms within a minute.
                "GATEWAY_RATELIMIT_LOGIN": "60/minute",
            }
        )
        run_cli(env, workdir, "init-db")
        accounts = workdir / "accounts.csv"
        bhxh, phone, email = OWNER
        accounts.write_text(f"bhxh,phone,email,approved_at\n{bhxh},{phone},{email},2020-01-15\n")
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


def page(
    browser: WebDriver, site: Site, name: str, *, whole: bool = False
) -> contextlib.AbstractContextManager[None]:
    return screenshots(browser, site.shots, name, site.gateway.output, whole=whole, audit=True)


def go(browser: WebDriver, site: Site, path: str) -> None:
    browser.get(site.gateway.url + path)


def heading(browser: WebDriver) -> str:
    return browser.find_element(By.TAG_NAME, "h1").text


def error_of(browser: WebDriver, field: str) -> str:
    """The message shown for a field, checked to be the one its input is described by."""
    described = browser.find_element(By.ID, f"f-{field}").get_attribute("aria-describedby") or ""
    assert f"e-{field}" in described.split()
    return browser.find_element(By.ID, f"e-{field}").text


def follow(browser: WebDriver, text: str) -> None:
    """Click the link that says ``text`` and wait for the next page."""
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.LINK_TEXT, text).click()
    wait_replaced(browser, old)


def sign_out(browser: WebDriver) -> None:
    submit(browser, ".signout button")


def sign_in(browser: WebDriver, site: Site, password: str) -> None:
    go(browser, site, "/dang-nhap")
    fill(browser, bhxh=OWNER[0], password=password)
    submit(browser, "main form button[type=submit]")


def temporary_password(site: Site) -> str:
    """Text BH MK from the registered phone; return the password in the reply."""
    bhxh, phone, _ = OWNER
    mo_id = new_mo_id()
    answer = signed_post(
        f"{site.gateway.url}/carriers/{CARRIER}/mo", mo(f"BH MK {bhxh}", phone, mo_id)
    )
    assert answer.status_code == 200, answer.text
    reply = site.carrier.wait_for_reply(mo_id, site.gateway).payload["text"]
    found = re.search(r"Mat khau: (\w+)\.", reply)
    assert found, reply
    return found[1]


def fresh_code(secret: str, spent_step: int | None) -> tuple[str, int]:
    """The code the app shows now, waiting (under 30 s) for the next one if this one is spent."""
    step = int(time.time()) // STEP
    if spent_step is not None and step <= spent_step:
        time.sleep((spent_step + 1) * STEP - time.time() + 0.2)
        step = int(time.time()) // STEP
    assert spent_step is None or step > spent_step
    return pyotp.TOTP(secret).at(step * STEP), step


def tab_to(browser: WebDriver, name: str) -> None:
    """Press Tab from the top of the page until the input called ``name`` has the focus."""
    for _ in range(TABS):
        if browser.switch_to.active_element.get_attribute("name") == name:
            return
        ActionChains(browser).send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element.get_attribute("name") == name, (
        f"Tab never reached {name}"
    )


@pytest.fixture(scope="module")
def signed_in(browser: WebDriver, site: Site) -> None:
    """The citizen's own password, set after a temporary one by SMS: a fresh sign-in."""
    temporary = temporary_password(site)
    sign_in(browser, site, temporary)
    assert browser.current_url.endswith("/doi-mat-khau")
    fill(browser, password=FIRST, password2=FIRST)
    submit(browser, "main form button[type=submit]")
    assert heading(browser) == "Đã đổi mật khẩu"


def split_groups(browser: WebDriver) -> list[str]:
    """The groups of the seed shown that the browser broke across two lines."""
    code = browser.find_element(By.CSS_SELECTOR, ".secret code")
    return list(
        browser.execute_script(
            """
            const node = arguments[0].firstChild, split = [];
            let at = 0;
            for (const group of node.data.split(' ')) {
              const range = document.createRange();
              range.setStart(node, at);
              range.setEnd(node, at + group.length);
              const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
              if (lines.size > 1) split.push(group);
              at += group.length + 1;
            }
            return split;
            """,
            code,
        )
    )


def test_the_seed_is_never_broken_inside_a_group(
    browser: WebDriver, site: Site, signed_in: None
) -> None:
    go(browser, site, "/tai-khoan/smart-otp")
    submit(browser, "main form button[type=submit]")  # "Bật Smart OTP": a seed, not yet on
    assert heading(browser) == "Bật Smart OTP"
    broken = {}
    try:
        for width in (LAPTOP[0], PHONE_SIZE[0], 360, 320):
            browser.set_window_size(width, LAPTOP[1])
            broken[width] = split_groups(browser)
    finally:
        browser.set_window_size(*LAPTOP)
    assert broken == {width: [] for width in broken}


def test_a_citizen_turns_smart_otp_on_and_recovers_the_password_with_it(
    browser: WebDriver, site: Site, signed_in: None
) -> None:
    bhxh, _, email = OWNER
    # Tài khoản → Smart OTP → Bật Smart OTP.
    go(browser, site, "/tai-khoan")
    assert heading(browser) == f"Tài khoản {bhxh}"
    follow(browser, "Smart OTP (mã trên điện thoại)")
    with page(browser, site, "smart-otp-chua-bat"):
        assert browser.current_url.endswith("/tai-khoan/smart-otp")
        assert heading(browser) == "Smart OTP"
        assert "Smart OTP chưa bật." in browser.find_element(By.CLASS_NAME, "notice").text
    submit(browser, "main form button[type=submit]")  # "Bật Smart OTP"
    with page(browser, site, "smart-otp-ma-qr", whole=True):
        assert heading(browser) == "Bật Smart OTP"
        image = browser.find_element(By.CSS_SELECTOR, ".qr img")
        assert (image.get_attribute("src") or "").startswith("data:image/png;base64,")
        assert "Mã QR" in (image.get_attribute("alt") or "")
        natural = browser.execute_script("return arguments[0].naturalWidth", image)
        assert natural >= 150 and image.size["width"] >= 150  # loaded (CSP) and big enough
        grouped = browser.find_element(By.CSS_SELECTOR, ".secret code").text
        secret = grouped.replace(" ", "").replace("\n", "")
        assert re.fullmatch(r"[A-Z2-7]{32}", secret), grouped
        link = browser.find_element(By.CSS_SELECTOR, "a[href^='otpauth://']")
        assert f"secret={secret}" in (link.get_attribute("href") or "")

    # Keyboard alone: Tab to the code field, type the app's code, Enter.
    code, spent = fresh_code(secret, None)
    tab_to(browser, "code")
    old = browser.find_element(By.TAG_NAME, "html")
    ActionChains(browser).send_keys(code, Keys.ENTER).perform()
    wait_replaced(browser, old)
    with page(browser, site, "smart-otp-da-bat"):
        assert browser.current_url.endswith("/tai-khoan/smart-otp")
        assert "Đã bật Smart OTP" in browser.find_element(By.CLASS_NAME, "success").text
        today = dt.datetime.now(LOCAL_TZ).strftime("%d/%m/%Y")
        assert f"Smart OTP đang bật từ ngày {today}." in browser.page_source
    site.wait_for_mail(email, "Smart OTP của tài khoản VssID vừa được bật")
    sign_out(browser)

    # Forgot the password: /quen-mat-khau → Smart OTP. The code just used is refused.
    go(browser, site, "/quen-mat-khau")
    follow(browser, "Lấy lại mật khẩu bằng mã Smart OTP")
    assert heading(browser) == "Lấy lại mật khẩu bằng Smart OTP"
    if int(time.time()) // STEP == spent:
        fill(browser, bhxh=bhxh, code=code)
        submit(browser, "main form button[type=submit]")
        with page(browser, site, "smart-otp-ma-da-dung"):
            assert "Mã số hoặc mã Smart OTP không đúng" in error_of(browser, "code")
            assert browser.find_element(By.NAME, "bhxh").get_attribute("value") == bhxh
    with page(browser, site, "smart-otp-lay-lai"):
        assert browser.find_element(By.NAME, "code").is_displayed()
    code, _ = fresh_code(secret, spent)  # the app's next code
    fill(browser, bhxh=bhxh, code=code)
    submit(browser, "main form button[type=submit]")
    with page(browser, site, "smart-otp-doi-mat-khau", whole=True):
        assert browser.current_url.endswith("/doi-mat-khau")
        assert heading(browser) == "Đặt mật khẩu mới"
        review = browser.find_element(By.CSS_SELECTOR, "fieldset.review").text
        assert f"Tắt Smart OTP (bật ngày {today})" in review
        box = browser.find_element(By.ID, "rm-smart-otp")
        assert box.get_attribute("name") == "remove_smart_otp" and not box.is_selected()
    fill(browser, password=NEW, password2=NEW)
    submit(browser, "main form button[type=submit]")
    with page(browser, site, "smart-otp-mat-khau-moi"):
        assert heading(browser) == "Đã đổi mật khẩu"
    sign_out(browser)

    # The new password signs in; Smart OTP (not ticked) is still on.
    sign_in(browser, site, NEW)
    with page(browser, site, "smart-otp-dang-nhap-lai"):
        assert browser.current_url.endswith("/tai-khoan")
        assert heading(browser) == f"Tài khoản {bhxh}"
    go(browser, site, "/tai-khoan/smart-otp")
    assert f"Smart OTP đang bật từ ngày {today}." in browser.page_source
    sign_out(browser)


def test_the_browser_reported_no_policy_violation(browser: WebDriver, site: Site) -> None:
    # A refused form answers 400/401, which the browser logs; anything else is a fault.
    refused = re.compile(r"status of (400|401) ")
    errors = [e for e in severe_console_errors(browser) if not refused.search(e["message"])]
    assert errors == []
