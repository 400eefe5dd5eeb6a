"""The portal in a real browser: Debian's Chromium driven by Selenium against real gunicorn.

A person opens /quen-mat-khau, with the keyboard alone and no puzzle (the ALTCHA widget does
its proof of work by itself), gets the OTP by email (a real SMTP server on loopback), pastes it
and sets a new password, which signs them in; signed out, they sign in with it. A person with an
SMS temporary password is sent to /doi-mat-khau; a malformed field, a wrong code and a weak
password show their messages. axe-core checks every page state against WCAG 2.2 A/AA (the
console's sign-in and enrolment too, and the 429 page last); what axe cannot see is scripted:
the help on every step, 320 px and 200% zoom without sideways scrolling. Screenshots of every
page, at laptop and phone width, land in the test's tmp folder; a failure prints where.

Skips when Chromium or chromedriver is missing, unless REQUIRE_BROWSER=1 (CI sets it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.browser import (
    WAIT,
    assert_accessible,
    error_of,
    fill,
    heading,
    screenshots,
    sign_out,
    submit,
    tab_to,
    unexpected_console_errors,
    wait_replaced,
)
from tests.e2e.site import Site, go, page, serving_site, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

EMAIL_OWNER = ("0123456789", "0912345678", "nguyen.van.a@example.vn")
SMS_OWNER = ("0987654321", "0913000111")
NEW = "mot cau mat khau moi"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    accounts = [f"{','.join(EMAIL_OWNER)},2020-01-15", f"{','.join(SMS_OWNER)},,2020-01-15"]
    settings = {
        "GATEWAY_TEST_CAPTCHA_ANSWERS": "true",
        # One browser on 127.0.0.1 posts all the module's forms within a minute.
        "GATEWAY_RATELIMIT_LOGIN": "60/minute",
        "GATEWAY_RATELIMIT_RECOVERY": "30/minute",  # the last test goes over it
    }
    with serving_site(tmp_path_factory.mktemp("portal"), accounts, settings) as served:
        yield served


def solve_captcha(browser: WebDriver, site: Site) -> str:
    """Read the image captcha's answer from the test-only side channel (never on for people)."""
    captcha_id = browser.find_element(By.NAME, "captcha_id").get_attribute("value")
    answer = requests.get(
        f"{site.gateway.url}/quen-mat-khau/captcha/{captcha_id}/answer", timeout=10
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["answer"])


def proof_done(browser: WebDriver) -> None:
    """Wait until the ALTCHA widget has done its proof of work (nobody does anything)."""
    WebDriverWait(browser, WAIT).until(
        lambda b: b.execute_script(
            "const i = document.querySelector('input[name=altcha]'); return !!(i && i.value);"
        )
    )


def no_text_captcha_shown(browser: WebDriver) -> None:
    """No step of the default path shows a text puzzle (WCAG 2.2 SC 3.3.8)."""
    shown = [e for e in browser.find_elements(By.NAME, "captcha_answer") if e.is_displayed()]
    assert shown == []
    assert [
        i for i in browser.find_elements(By.CSS_SELECTOR, ".captcha img") if i.is_displayed()
    ] == []


def help_is_there(browser: WebDriver) -> None:
    """The same help in the same place on every step (WCAG 2.2 SC 3.2.6)."""
    footer = browser.find_element(By.ID, "tro-giup")
    assert "Không nhận được email?" in footer.text
    assert footer.find_element(By.CSS_SELECTOR, "a[href^='sms:']").is_displayed()


def ask_for_a_code(browser: WebDriver, site: Site, *, email: str | None = None) -> None:
    bhxh, _, registered = EMAIL_OWNER
    go(browser, site, "/quen-mat-khau")
    fill(browser, bhxh=bhxh, email=email or registered)
    proof_done(browser)
    submit(browser, "main form button[type=submit]")


def test_a_person_recovers_by_email_with_the_keyboard_alone_and_no_puzzle(
    browser: WebDriver, site: Site
) -> None:
    bhxh, _, email = EMAIL_OWNER
    go(browser, site, "/quen-mat-khau")
    with page(browser, site, "quen-mat-khau"):
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
        assert heading(browser) == "Quên mật khẩu"
        assert (
            "VssID" in browser.title
            and "VssID" in browser.find_element(By.CLASS_NAME, "brand").text
        )
        footer = browser.find_element(By.ID, "tro-giup").text
        assert "1900 9068" in footer and "BH MK <mã số BHXH> gửi 8079" in footer
        help_is_there(browser)
        no_text_captcha_shown(browser)
        proof_done(browser)
    before = len(site.mails_to(email))
    # Keyboard only: Tab to the number, type, Tab to the email, type, Enter. No puzzle.
    browser.find_element(By.TAG_NAME, "body").click()
    tab_to(browser, "bhxh")
    old = browser.find_element(By.TAG_NAME, "html")
    ActionChains(browser).send_keys(bhxh, Keys.TAB, email, Keys.ENTER).perform()
    wait_replaced(browser, old)
    with page(browser, site, "quen-mat-khau-da-gui"):
        # Post/redirect/get: the address bar names the step; a reload posts nothing.
        assert browser.current_url.endswith("/quen-mat-khau/otp")
        assert "mã xác thực (OTP) đang được" in browser.find_element(By.CLASS_NAME, "notice").text
        assert "0123456789" in browser.find_element(By.CLASS_NAME, "known").text  # not asked twice
        help_is_there(browser)
        no_text_captcha_shown(browser)
    browser.refresh()
    assert browser.current_url.endswith("/quen-mat-khau/otp")

    code = site.mailed_code(email, before)
    assert len(site.mails_to(email)) == before + 1  # the reload sent nothing
    tab_to(browser, "otp")
    field = browser.switch_to.active_element
    assert field.get_attribute("autocomplete") == "one-time-code"
    # Paste, as from the email, grouped: nothing stops a paste and the spaces are accepted.
    pasted = browser.execute_script(
        """
        const data = new DataTransfer(); data.setData('text/plain', arguments[0]);
        const paste = new ClipboardEvent(
            'paste', {clipboardData: data, bubbles: true, cancelable: true});
        return arguments[1].dispatchEvent(paste);
        """,
        f"{code[:3]} {code[3:]}",
        field,
    )
    assert pasted is True  # not cancelled by the page
    browser.execute_cdp_cmd("Input.insertText", {"text": f"{code[:3]} {code[3:]}"})
    old = browser.find_element(By.TAG_NAME, "html")
    ActionChains(browser).send_keys(Keys.TAB, NEW, Keys.TAB, NEW, Keys.ENTER).perform()
    wait_replaced(browser, old)
    with page(browser, site, "quen-mat-khau-xong"):
        assert browser.current_url.endswith("/quen-mat-khau/xong")
        assert heading(browser) == "Đã đặt mật khẩu mới"
        assert "bạn đã đăng nhập" in browser.find_element(By.CLASS_NAME, "success").text
        help_is_there(browser)

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


def test_a_malformed_field_a_wrong_code_and_a_weak_password_are_explained(
    browser: WebDriver, site: Site
) -> None:
    ask_for_a_code(browser, site, email="not-an-address")
    with page(browser, site, "sai-email"):
        assert "ten@example.vn" in error_of(browser, "email")
        assert browser.find_element(By.NAME, "email").get_attribute("value") == "not-an-address"
        assert browser.find_element(By.CLASS_NAME, "error-summary").is_displayed()
        no_text_captcha_shown(browser)

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


def test_without_javascript_the_image_captcha_is_the_way(browser: WebDriver, site: Site) -> None:
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        go(browser, site, "/quen-mat-khau")
        # axe needs JavaScript: these two pages are pictures only (the image is checked by
        # tests/integration/portal/test_portal_recovery.py).
        with screenshots(
            browser, site.shots, "quen-mat-khau-khong-javascript", site.gateway.output
        ):
            image = browser.find_element(By.CSS_SELECTOR, ".captcha img")
            assert image.is_displayed()
            assert browser.find_element(By.NAME, "captcha_answer").is_displayed()
        bhxh, _, email = EMAIL_OWNER
        fill(browser, bhxh=bhxh, email=email, captcha_answer="ZZZZZ")
        submit(browser, "main form button[type=submit]")
        with screenshots(browser, site.shots, "sai-ma-xac-nhan", site.gateway.output):
            assert "Mã xác nhận không đúng" in error_of(browser, "captcha_answer")
            assert browser.find_element(By.NAME, "email").get_attribute("value") == email
        fill(browser, captcha_answer=solve_captcha(browser, site).lower())
        submit(browser, "main form button[type=submit]")
        assert browser.current_url.endswith("/quen-mat-khau/otp")
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_a_temporary_password_from_8079_leads_to_the_set_password_page(
    browser: WebDriver, site: Site
) -> None:
    bhxh, phone = SMS_OWNER
    temporary = site.temporary_password(bhxh, phone)

    go(browser, site, "/dang-nhap")
    with page(browser, site, "dang-nhap"):
        # Keyboard only: Tab to the number, type, Tab to the password, type, Enter.
        old = browser.find_element(By.TAG_NAME, "html")
        tab_to(browser, "bhxh", presses=8)
        ActionChains(browser).send_keys(bhxh, Keys.TAB, temporary, Keys.ENTER).perform()
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


def test_every_other_page_state_passes_axe(browser: WebDriver, site: Site) -> None:
    """The states the flows above do not pass through: refusals and signed-in forms."""
    sign_in(browser, site, "0000000001", "khong phai mat khau")
    with page(browser, site, "dang-nhap-sai"):
        assert browser.find_element(By.CLASS_NAME, "error-summary").is_displayed()
    for path, name in (("/kich-hoat", "kich-hoat"), ("/quen-mat-khau/smart-otp", "smart-otp")):
        go(browser, site, path)
        with page(browser, site, f"{name}-trong"):
            help_is_there(browser)
        submit(browser, "main form button[type=submit]")
        with page(browser, site, f"{name}-loi"):
            assert browser.find_element(By.CLASS_NAME, "error-summary").is_displayed()

    sign_in(browser, site, EMAIL_OWNER[0], NEW)
    go(browser, site, "/doi-mat-khau")
    with page(browser, site, "doi-mat-khau-dang-nhap"):
        assert heading(browser) == "Đổi mật khẩu"
    fill(browser, current="sai", password=NEW + " 2", password2=NEW + " 3")
    submit(browser, "main form button[type=submit]")
    with page(browser, site, "doi-mat-khau-loi"):
        assert "không giống nhau" in error_of(browser, "password2")
    go(browser, site, "/tai-khoan/email")
    with page(browser, site, "doi-email"):
        assert heading(browser) == "Đổi email"
    submit(browser, "main form button[type=submit]")
    with page(browser, site, "doi-email-loi"):
        assert browser.find_element(By.CLASS_NAME, "error-summary").is_displayed()
    fill(browser, current=NEW, email="moi@example.vn")
    submit(browser, "main form button[type=submit]")
    with page(browser, site, "doi-email-ma"):
        assert browser.find_element(By.NAME, "otp").get_attribute("autocomplete") == (
            "one-time-code"
        )
    go(browser, site, "/tai-khoan/smart-otp")
    with page(browser, site, "tai-khoan-smart-otp"):
        help_is_there(browser)
    sign_out(browser)


WIDTHS = [(320, 640, 1.0), (1280, 900, 2.0)]  # 320 CSS px; a laptop at 200% zoom


@pytest.mark.parametrize(
    "path", ["/quen-mat-khau", "/quen-mat-khau/otp", "/dang-nhap", "/quen-mat-khau/smart-otp"]
)
def test_every_step_reflows_at_320_px_and_200_percent_zoom(
    browser: WebDriver, site: Site, path: str
) -> None:
    """WCAG 2.2 SC 1.4.10: no scrolling sideways at 320 CSS px, nor at 200% zoom."""
    go(browser, site, path)
    try:
        for width, height, zoom in WIDTHS:
            browser.set_window_size(width, height)
            browser.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 0, "mobile": False},
            )
            browser.execute_cdp_cmd("Emulation.setPageScaleFactor", {"pageScaleFactor": 1})
            browser.execute_script("document.body.style.zoom = arguments[0]", str(zoom))
            overflow = browser.execute_script(
                "const d = document.documentElement; return d.scrollWidth - d.clientWidth;"
            )
            assert overflow <= 0, f"{path} scrolls {overflow} px sideways at {width} px x{zoom}"
            help_is_there(browser)
    finally:
        browser.execute_script("document.body.style.zoom = ''")
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        browser.set_window_size(1280, 900)


def staff_enrolment_link(site: Site) -> str:
    printed = site.cli("staff", "add", "a11y@example.vn", "--role", "operator")
    link = re.search(r"http://\S+/console/enrol/\S+", printed)
    assert link, printed
    return link[0]


def test_the_console_sign_in_and_enrolment_pages_pass_axe(browser: WebDriver, site: Site) -> None:
    go(browser, site, "/console/sign-in")
    assert_accessible(browser, "console sign-in")
    fill(browser, email="nobody@example.vn", password="sai mat khau", code="000000")
    submit(browser, "main form button[type=submit]")
    assert_accessible(browser, "console sign-in, refused")
    browser.get(staff_enrolment_link(site))
    WebDriverWait(browser, WAIT).until(lambda b: b.current_url.endswith("/console/enrol"))
    assert_accessible(browser, "console enrolment")
    browser.delete_all_cookies()


def test_the_429_page_says_how_long_and_keeps_the_signed_in_header(
    browser: WebDriver, site: Site
) -> None:
    """Last in the module: it uses up this client's "recovery" allowance."""
    sign_in(browser, site, EMAIL_OWNER[0], NEW)
    assert browser.current_url.endswith("/tai-khoan")
    for _ in range(40):  # GATEWAY_RATELIMIT_RECOVERY: every view of the page counts
        go(browser, site, "/quen-mat-khau")
        if "Vui lòng đợi" in heading(browser):
            break
    with page(browser, site, "qua-nhieu-yeu-cau"):
        assert heading(browser) == "Vui lòng đợi rồi thử lại"
        assert re.search(
            r"Hãy đợi \d+ (giây|phút)", browser.find_element(By.CLASS_NAME, "error").text
        )
        assert browser.find_elements(By.CSS_SELECTOR, ".signout button")  # still signed in
        help_is_there(browser)
    sign_out(browser)


def test_the_browser_reported_no_policy_violation(browser: WebDriver, site: Site) -> None:
    # A refused form answers 400/401/429, which the browser logs; anything else is a fault.
    assert unexpected_console_errors(browser, refused="400|401|429") == []
