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

import datetime as dt
import re
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pyotp
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.browser import (
    LAPTOP,
    PHONE_SIZE,
    error_of,
    fill,
    heading,
    sign_out,
    submit,
    tab_to,
    unexpected_console_errors,
    wait_replaced,
)
from tests.e2e.site import Site, go, page, serving_site, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

OWNER = ("0123456789", "0912345678", "nguyen.van.a@example.vn")
FIRST = "cau mat khau dau tien"
NEW = "mot cau mat khau moi"
STEP = 30  # seconds: one code of the app
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TABS = 20  # how many Tab presses may separate the top of a page from its code field


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # No passkey here: an IP address as the public URL is fine (passkeys stay off).
    # One browser on 127.0.0.1 posts all the module's forms within a minute.
    settings = {"GATEWAY_RATELIMIT_LOGIN": "60/minute"}
    accounts = [f"{','.join(OWNER)},2020-01-15"]
    with serving_site(tmp_path_factory.mktemp("smart-otp"), accounts, settings) as served:
        yield served


def follow(browser: WebDriver, text: str) -> None:
    """Click the link that says ``text`` and wait for the next page."""
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.LINK_TEXT, text).click()
    wait_replaced(browser, old)


def fresh_code(secret: str, spent_step: int | None) -> tuple[str, int]:
    """The code the app shows now, waiting (under 30 s) for the next one if this one is spent."""
    step = int(time.time()) // STEP
    if spent_step is not None and step <= spent_step:
        time.sleep((spent_step + 1) * STEP - time.time() + 0.2)
        step = int(time.time()) // STEP
    assert spent_step is None or step > spent_step
    return pyotp.TOTP(secret).at(step * STEP), step


@pytest.fixture(scope="module")
def signed_in(browser: WebDriver, site: Site) -> None:
    """The citizen's own password, set after a temporary one by SMS: a fresh sign-in."""
    sign_in(browser, site, OWNER[0], site.temporary_password(*OWNER[:2]))
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
    tab_to(browser, "code", presses=TABS)
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
    sign_in(browser, site, bhxh, NEW)
    with page(browser, site, "smart-otp-dang-nhap-lai"):
        assert browser.current_url.endswith("/tai-khoan")
        assert heading(browser) == f"Tài khoản {bhxh}"
    go(browser, site, "/tai-khoan/smart-otp")
    assert f"Smart OTP đang bật từ ngày {today}." in browser.page_source
    sign_out(browser)


def test_the_browser_reported_no_policy_violation(browser: WebDriver, site: Site) -> None:
    # A refused form answers 400/401, which the browser logs; anything else is a fault.
    assert unexpected_console_errors(browser) == []
