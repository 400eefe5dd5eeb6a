"""Passkeys in a real browser: Chromium's virtual authenticator against real gunicorn.

A citizen signs in with a password and adds a passkey (the authenticator then holds one
discoverable credential; the owner is told by email); signs in with it alone, without typing
anything; "forgets" the password and recovers with it, free (no SMS, no emailed code); signs in
with it by keyboard only; removes it, after which the server refuses it with a message the page
shows. Screenshots of every page, at laptop and phone width, land in the module's tmp folder.

Browsers refuse an IP address as RP ID, so the gateway is reached as http://localhost:<port>
(RP ID localhost; plain http is a secure context there). The tests run in order and share one
account, one browser and one authenticator.

Skips when Chromium or chromedriver is missing, unless REQUIRE_BROWSER=1 (CI sets it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.virtual_authenticator import (
    Protocol,
    Transport,
    VirtualAuthenticatorOptions,
)
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e import site as shared
from tests.e2e.browser import WAIT, fill, heading, submit, unexpected_console_errors
from tests.e2e.site import MAILED_CODE, TEMPORARY, Site, go, plain_text, serving_site
from tests.e2e.support import settle

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

BHXH, PHONE, EMAIL = "0123456780", "0912000333", "tran.thi.b@example.vn"
PASSWORD = "cau mat khau dau tien cua toi"
NEW = "cau mat khau moi sau khi quen"
KEY_NAME, RENAMED = "Máy tính ở nhà", "Laptop cơ quan"  # the passkey's first name, its second
WAITING = "Đang chờ khóa truy cập"
# Chromium's virtual authenticator answers a conditional request (the identifier field's
# autofill) at once with its first passkey, as if the person had picked it: every visit to
# /dang-nhap would sign in by itself. A person picks only when they want to, so in this browser
# an autofill request stays pending, as a real one does, until the page aborts it or the test
# calls window.e2ePick() (the person picks the passkey in the list); window.e2eAutofill says
# which of "pending", "aborted" or "picked" it is.
PERSON_AT_AUTOFILL = """
(function () {
  if (!window.navigator.credentials) { return; }
  var get = navigator.credentials.get.bind(navigator.credentials);
  navigator.credentials.get = function (options) {
    if (!options || options.mediation !== "conditional") { return get(options); }
    window.e2eAutofill = "pending";
    return new Promise(function (resolve, reject) {
      window.e2ePick = function () {
        window.e2eAutofill = "picked";
        get(options).then(resolve, reject);
      };
      options.signal.addEventListener("abort", function () {
        window.e2eAutofill = "aborted";
        reject(new DOMException("The request was aborted.", "AbortError"));
      });
    });
  };
}());
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = {
        # One browser on loopback signs in and starts ceremonies many times a minute.
        "GATEWAY_RATELIMIT_LOGIN": "100/minute",
        "GATEWAY_RATELIMIT_RECOVERY": "100/minute",
    }
    accounts = [f"{BHXH},{PHONE},{EMAIL},2020-01-15"]
    # A domain: the RP ID; localhost is a secure context. The server listens on 127.0.0.1
    # only: Chromium resolves localhost to loopback itself (::1 falls back).
    workdir = tmp_path_factory.mktemp("passkeys")
    with serving_site(workdir, accounts, settings, host="localhost") as served:
        yield served


@pytest.fixture(scope="module")
def browser(browser: WebDriver) -> WebDriver:
    """The module's Chromium, with an authenticator and a person at the autofill."""
    # A platform authenticator (like a phone's fingerprint) that keeps discoverable
    # credentials and always verifies its user.
    browser.add_virtual_authenticator(
        VirtualAuthenticatorOptions(
            protocol=Protocol.CTAP2,
            transport=Transport.INTERNAL,
            has_resident_key=True,
            has_user_verification=True,
            is_user_verified=True,
            is_user_consenting=True,
        )
    )
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PERSON_AT_AUTOFILL})
    return browser


def page(browser: WebDriver, site: Site, name: str) -> contextlib.AbstractContextManager[None]:
    return shared.page(browser, site, name, whole=True)


def texts_to_owner(site: Site) -> list[str]:
    """Every SMS the gateway handed to the carrier for the account's phone, so far."""
    received = list(site.carrier.received)
    return [str(r.payload["text"]) for r in received if PHONE[1:] in str(r.payload["to"])]


def path_of(browser: WebDriver) -> str:
    return "/" + browser.current_url.split("/", 3)[3]


def sign_in(browser: WebDriver, site: Site, password: str) -> None:
    shared.sign_in(browser, site, BHXH, password)


def sign_out(browser: WebDriver) -> None:
    submit(browser, ".signout button")
    assert path_of(browser) == "/dang-nhap"


def passkey_section(browser: WebDriver, mode: str) -> tuple[str, Callable[[], str]]:
    """Return the section's button label (once the script has shown it) and its status."""
    section = browser.find_element(By.CSS_SELECTOR, f"section[data-passkey={mode}]")
    button = section.find_element(By.CLASS_NAME, "passkey-button")
    WebDriverWait(browser, WAIT).until(lambda _: button.is_displayed())
    assert not section.find_element(By.CLASS_NAME, "passkey-unsupported").is_displayed()
    return button.text, lambda: section.find_element(By.CLASS_NAME, "passkey-status").text


def ceremony(browser: WebDriver, mode: str, start: Callable[[], None] | None = None) -> None:
    """Start a section's ceremony (a click, unless ``start``) and wait for the next page."""
    old = browser.find_element(By.TAG_NAME, "html")
    _, status = passkey_section(browser, mode)
    if mode == "sign-in":
        # As a person would: once the page's autofill request has started, not while its
        # options are still on the way (the session keeps one sign-in request id at a time).
        autofill_is(browser, "pending")
    if start is None:
        browser.find_element(By.CSS_SELECTOR, f"section[data-passkey={mode}] button").click()
    else:
        start()
    wait = WebDriverWait(browser, WAIT, ignored_exceptions=(WebDriverException,))
    try:
        wait.until(lambda _: not _attached(old) or (status() and WAITING not in status()))
    except TimeoutException:
        pytest.fail(f"the {mode} ceremony did not end; the page says {status()!r}")
    if _attached(old):
        pytest.fail(f"the {mode} ceremony failed; the page says {status()!r}")


def failed_ceremony(browser: WebDriver, mode: str) -> str:
    """Click a section's button, wait for the ceremony to fail on this page; return why."""
    _, status = passkey_section(browser, mode)
    if mode == "sign-in":
        autofill_is(browser, "pending")
    browser.find_element(By.CSS_SELECTOR, f"section[data-passkey={mode}] button").click()
    WebDriverWait(browser, WAIT).until(lambda _: status() and WAITING not in status())
    return status()


def _attached(element: object) -> bool:
    try:
        element.is_enabled()  # type: ignore[attr-defined]
    except WebDriverException:  # stale, or mid-navigation
        return False
    return True


def autofill_is(browser: WebDriver, state: str) -> None:
    """Wait until the page's autofill request (see PERSON_AT_AUTOFILL) is in ``state``."""
    script = "return window.e2eAutofill || null"
    WebDriverWait(browser, WAIT).until(lambda _: browser.execute_script(script) == state)


def listed_keys(browser: WebDriver) -> list[str]:
    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, "ul.passkeys li strong")]


def notice(browser: WebDriver) -> str:
    return browser.find_element(By.CSS_SELECTOR, "main .success").text


def test_a_citizen_adds_a_passkey_after_signing_in_with_the_password(
    browser: WebDriver, site: Site
) -> None:
    # A password of their own first: the SMS's temporary one, then /doi-mat-khau.
    sign_in(browser, site, site.temporary_password(BHXH, PHONE))
    assert path_of(browser) == "/doi-mat-khau"
    fill(browser, password=PASSWORD, password2=PASSWORD)
    submit(browser, "main form button[type=submit]")
    assert heading(browser) == "Đã đổi mật khẩu"
    sign_out(browser)

    sign_in(browser, site, PASSWORD)
    assert path_of(browser) == "/tai-khoan"
    submit(browser, "a[href='/tai-khoan/khoa-truy-cap']")
    with page(browser, site, "khoa-truy-cap-trong"):
        assert heading(browser) == "Khóa truy cập"
        label, _ = passkey_section(browser, "register")
        assert label == "Thêm khóa truy cập"
        assert listed_keys(browser) == []
        assert "Chưa có khóa truy cập nào." in browser.find_element(By.TAG_NAME, "main").text
    assert browser.get_credentials() == []

    mails = len(site.mails_to(EMAIL))
    fill(browser, passkey_name=KEY_NAME)
    ceremony(browser, "register")
    with page(browser, site, "khoa-truy-cap-da-them"):
        assert path_of(browser) == "/tai-khoan/khoa-truy-cap"
        assert notice(browser) == f"Đã thêm khóa truy cập “{KEY_NAME}”."
        assert listed_keys(browser) == [KEY_NAME]
        assert "Chưa dùng" in browser.find_element(By.CSS_SELECTOR, "ul.passkeys li").text
    held = browser.get_credentials()
    assert len(held) == 1
    assert held[0].is_resident_credential and held[0].rp_id == "localhost"
    mail = site.wait_for_mail(EMAIL, "vừa có thêm khóa truy cập", mails)
    assert KEY_NAME in plain_text(mail)

    # A name the owner recognises; an empty one is explained, not stored.
    fill(browser, name="")
    submit(browser, "ul.passkeys form.inline button.secondary")
    with page(browser, site, "khoa-truy-cap-ten-trong"):
        field = browser.find_element(By.CSS_SELECTOR, "ul.passkeys input[name=name]")
        assert field.get_attribute("aria-invalid") == "true"
        error = browser.find_element(By.ID, field.get_attribute("aria-describedby") or "")
        assert error.text == "Tên cần từ 1 đến 64 ký tự."
        assert listed_keys(browser) == [KEY_NAME]
    fill(browser, name=RENAMED)
    submit(browser, "ul.passkeys form.inline button.secondary")
    assert notice(browser) == f"Đã đổi tên thành “{RENAMED}”."
    assert listed_keys(browser) == [RENAMED]


def test_the_passkey_alone_signs_in(browser: WebDriver, site: Site) -> None:
    go(browser, site, "/tai-khoan")
    sign_out(browser)
    with page(browser, site, "dang-nhap"):
        label, status = passkey_section(browser, "sign-in")
        assert label == "Đăng nhập bằng khóa truy cập"
        identifier = browser.find_element(By.NAME, "bhxh")
        assert identifier.get_attribute("autocomplete") == "username webauthn"
        assert identifier.get_attribute("value") == "" and status() == ""
        autofill_is(browser, "pending")  # offered in the field's autofill since the page loaded
    ceremony(browser, "sign-in")
    with page(browser, site, "dang-nhap-bang-khoa"):
        assert path_of(browser) == "/tai-khoan"
        assert heading(browser) == f"Tài khoản {BHXH}"
    go(browser, site, "/tai-khoan/khoa-truy-cap")
    assert "Dùng lần cuối ngày" in browser.find_element(By.CSS_SELECTOR, "ul.passkeys li").text


def test_the_autofill_offers_the_passkey_too(browser: WebDriver, site: Site) -> None:
    sign_out(browser)
    autofill_is(browser, "pending")
    ceremony(browser, "sign-in", start=lambda: browser.execute_script("window.e2ePick()"))
    with page(browser, site, "dang-nhap-tu-goi-y"):
        assert path_of(browser) == "/tai-khoan"
        assert heading(browser) == f"Tài khoản {BHXH}"


def test_a_forgotten_password_is_recovered_with_the_passkey_for_free(
    browser: WebDriver, site: Site
) -> None:
    go(browser, site, "/tai-khoan")
    sign_out(browser)
    mails, texts = len(site.mails_to(EMAIL)), len(texts_to_owner(site))
    go(browser, site, "/quen-mat-khau")
    with page(browser, site, "quen-mat-khau-khoa"):
        label, _ = passkey_section(browser, "recover")
        assert label == "Dùng khóa truy cập"
    ceremony(browser, "recover")
    with page(browser, site, "doi-mat-khau-kiem-tra"):
        assert path_of(browser) == "/doi-mat-khau"
        assert heading(browser) == "Đặt mật khẩu mới"
        review = browser.find_element(By.CSS_SELECTOR, "fieldset.review")
        assert review.find_element(By.TAG_NAME, "legend").text == "Kiểm tra các cách vào tài khoản"
        boxes = review.find_elements(By.CSS_SELECTOR, "input[type=checkbox]")
        assert [b.get_attribute("name") for b in boxes] == ["remove_passkey", "remove_email"]
        assert not any(b.is_selected() for b in boxes)
        assert f"Xóa khóa truy cập “{RENAMED}”" in review.text
        assert f"Gỡ email {EMAIL}" in review.text
        assert review.find_element(By.XPATH, "ancestor::form").find_element(By.NAME, "password2")
    go(browser, site, "/tai-khoan")  # a restricted session opens nothing else
    assert path_of(browser) == "/doi-mat-khau"

    fill(browser, password=NEW, password2=NEW)  # nothing ticked: the key and the email stay
    submit(browser, "main form button[type=submit]")
    with page(browser, site, "doi-mat-khau-xong"):
        assert heading(browser) == "Đã đổi mật khẩu"
        assert "Đã xóa" not in notice(browser)
    sign_out(browser)
    sign_in(browser, site, NEW)
    assert path_of(browser) == "/tai-khoan"
    assert f"<strong>{EMAIL}</strong>" in browser.page_source

    # Free: no temporary password by SMS, no code by email; only the notices.
    site.wait_for_mail(EMAIL, "vừa được lấy lại mật khẩu", mails)
    settle(site.gateway, site.carrier)  # whatever the worker had queued has left by now
    sent = texts_to_owner(site)[texts:]
    assert not [t for t in sent if TEMPORARY.search(t)], sent
    assert any("lay lai mat khau bang khoa truy cap" in t for t in sent), sent
    contents = [plain_text(m) for m in site.mails_to(EMAIL)[mails:]]
    assert any("bằng khóa truy cập" in c for c in contents), contents
    assert not [c for c in contents if MAILED_CODE.search(c)], contents
    go(browser, site, "/tai-khoan/khoa-truy-cap")
    assert listed_keys(browser) == [RENAMED]


def test_the_keyboard_alone_reaches_the_passkey_button(browser: WebDriver, site: Site) -> None:
    sign_out(browser)
    passkey_section(browser, "sign-in")  # the script has shown the button
    for _ in range(12):
        if "passkey-button" in (browser.switch_to.active_element.get_attribute("class") or ""):
            break
        ActionChains(browser).send_keys(Keys.TAB).perform()
    with page(browser, site, "dang-nhap-ban-phim"):
        focused = browser.switch_to.active_element
        assert focused.text == "Đăng nhập bằng khóa truy cập", focused.get_attribute("outerHTML")
    ceremony(
        browser, "sign-in", start=lambda: ActionChains(browser).send_keys(Keys.ENTER).perform()
    )
    assert path_of(browser) == "/tai-khoan"


def test_a_removed_passkey_no_longer_signs_in(browser: WebDriver, site: Site) -> None:
    sign_out(browser)
    sign_in(browser, site, NEW)  # a fresh proof: removing needs one from the last minutes
    go(browser, site, "/tai-khoan/khoa-truy-cap")
    mails = len(site.mails_to(EMAIL))
    submit(browser, "ul.passkeys button.danger")
    with page(browser, site, "khoa-truy-cap-da-xoa"):
        assert notice(browser).startswith("Đã xóa khóa truy cập.")
        assert listed_keys(browser) == []
        assert "Chưa có khóa truy cập nào." in browser.find_element(By.TAG_NAME, "main").text
    site.wait_for_mail(EMAIL, "khóa truy cập của tài khoản VssID đã bị xóa", mails)

    sign_out(browser)
    assert len(browser.get_credentials()) == 1  # the device still has it; the server does not
    refused = failed_ceremony(browser, "sign-in")
    with page(browser, site, "dang-nhap-khoa-da-xoa"):
        autofill_is(browser, "aborted")  # the button's request replaced the autofill's
        assert refused.startswith("Khóa truy cập không được chấp nhận."), refused
        assert path_of(browser) == "/dang-nhap"
        button = browser.find_element(By.CSS_SELECTOR, "section[data-passkey=sign-in] button")
        assert button.is_enabled()
        assert browser.switch_to.active_element == button  # focus back, ready to try again
    go(browser, site, "/tai-khoan")
    assert path_of(browser) == "/dang-nhap"  # not signed in


def test_the_browser_reported_no_policy_violation_nor_script_error(
    browser: WebDriver, site: Site
) -> None:
    # The refused passkey and the empty name answer 400/401, which the browser logs.
    assert unexpected_console_errors(browser) == []
