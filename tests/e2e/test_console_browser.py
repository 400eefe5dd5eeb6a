"""The console in a real browser: Debian's Chromium driven by Selenium against real gunicorn.

A finance member enrols (opening the link from another site, as from webmail, typing the code
mailed to them, then reading the TOTP secret off the page), signs in, sees the charges chart
drawn, downloads the CSV (compared with ``gateway charges export``), reconciles a carrier file
and refunds a message; an operator sees the overview chart and flips the switch.
Screenshots of every page land in the test's tmp folder; a failure prints where.

Skips when Chromium or chromedriver is missing, unless REQUIRE_BROWSER=1 (CI sets it).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pyotp
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from billing.periods import LOCAL_TZ
from tests.e2e.browser import (
    LAPTOP,
    PHONE_SIZE,
    WAIT,
    fill,
    severe_console_errors,
    submit,
    wait_replaced,
)
from tests.e2e.site import Site, go, page, serving_site
from tests.e2e.support import CARRIER

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "mat khau nhan vien dai"
PHONE = "0912345678"


@dataclass(frozen=True)
class Charged:
    """The messages texted in before the first test, and when they were charged."""

    ids: list[str]  # carrier message ids
    # The local days and time they were charged: a test running after local midnight must still
    # look at the day the fixture charged, not at "today".
    first_day: str
    last_day: str
    at: dt.datetime


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = {
        "GATEWAY_REFUND_WRONG_SYNTAX": "true",  # so the test has a refundable message
        # Four members enrol and sign in from one address within a minute (3 posts each).
        "GATEWAY_RATELIMIT_LOGIN": "60/minute;600/hour",
        # A keyword service, so the switch page and the charges page show their service parts
        # (nothing answers there: no test texts BH QT).
        "GATEWAY_SERVICES": "qt",
        "SERVICE_QT_KEYWORDS": "BH QT",
        "SERVICE_QT_URL": "http://127.0.0.1:9/services/qt",
        "SERVICE_QT_SECRET": "whsec_" + base64.b64encode(b"q" * 32).decode(),
    }
    accounts = [f"0123456789,{PHONE},,2026-01-15"]
    with serving_site(tmp_path_factory.mktemp("console"), accounts, settings) as served:
        yield served


@pytest.fixture(scope="module", autouse=True)
def charged(site: Site) -> Charged:
    started = dt.datetime.now(LOCAL_TZ)
    replies = [site.texted(text, PHONE) for text in ("BH MK 0123456789", "xin chao", "BH MK")]
    ended = dt.datetime.now(LOCAL_TZ)
    ids = [str(reply.payload["in_reply_to"]) for reply in replies]
    return Charged(ids, started.date().isoformat(), ended.date().isoformat(), ended)


def text(browser: WebDriver, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def enrol_and_sign_in(browser: WebDriver, site: Site, email: str, role: str) -> None:
    printed = site.cli("staff", "add", email, "--role", role)
    link = re.search(r"http://\S+/console/enrol/(\S+)", printed)
    assert link, printed
    browser.delete_all_cookies()
    # Opened from a page of another site, as from webmail: the SameSite=Strict cookie that
    # takes the token's place must still reach the page the link leads to.
    browser.get(f"data:text/html,<a id='mail-link' href='{link[0]}'>link</a>")
    browser.find_element(By.ID, "mail-link").click()
    enrol_page = f"{site.gateway.url}/console/enrol"
    WebDriverWait(browser, WAIT).until(lambda b: b.current_url == enrol_page)
    with page(browser, site, f"enrol-code-{role}"):
        assert browser.find_elements(By.ID, "totp-secret") == []
        fill(browser, code=site.mailed_code(email))
        submit(browser, "#enrol-email button[type=submit]")
    with page(browser, site, f"enrol-{role}"):
        assert browser.find_element(By.CSS_SELECTOR, ".qr svg path")
        secret = text(browser, "totp-secret")
    totp = pyotp.TOTP(secret)
    fill(browser, password=PASSWORD, password2=PASSWORD, code=totp.now())
    submit(browser, "#enrol-finish button[type=submit]")
    assert "Đã đăng ký" in browser.find_element(By.TAG_NAME, "h1").text
    access_log = site.gateway.logs["server"].read_text(errors="replace")
    assert link[1] not in access_log  # the token never reaches a log
    assert '"GET /console/enrol/…" 200' in access_log
    go(browser, site, "/console/sign-in")
    # The enrolment used this 30 s step's code; a code is accepted once, so sign in with the
    # next step's, which the server accepts for clock drift.
    fill(browser, email=email, password=PASSWORD, code=totp.at(time.time() + 30))
    submit(browser, "main form button[type=submit]")


def chart_is_drawn(browser: WebDriver, canvas_id: str) -> None:
    drawn = browser.execute_script(
        """
        const canvas = document.getElementById(arguments[0]);
        const chart = Chart.getChart(canvas);
        if (!chart) return {bars: 0, inked: 0};
        const bars = chart.data.datasets.reduce(
            (n, _, i) => n + chart.getDatasetMeta(i).data.filter(b => b.height > 0).length, 0);
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let inked = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked++;
        return {bars: bars, inked: inked};
        """,
        canvas_id,
    )
    assert drawn["bars"] >= 1 and drawn["inked"] > 1000, drawn


def test_finance_enrols_sees_the_chart_and_downloads_the_export(
    browser: WebDriver, site: Site, charged: Charged
) -> None:
    enrol_and_sign_in(browser, site, "ketoan@example.vn", "finance")
    first, last = charged.first_day, charged.last_day
    go(browser, site, f"/console/charges?from={first}&to={last}")
    with page(browser, site, "charges"):
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
        chart_is_drawn(browser, "charges-chart")
        assert text(browser, "total-messages") == "3"
        assert text(browser, "total-net") == "3.000 ₫"
        fits_phone_width(browser)

    browser.find_element(By.ID, "download-csv").click()
    downloaded = site.downloads / f"charges-{first}-{last}.csv"
    WebDriverWait(browser, WAIT).until(lambda _: downloaded.exists())
    expected = site.workdir / "cli-export.csv"
    site.cli(
        "charges", "export", "--from", first, "--to", last, "--excel", "--output", str(expected)
    )
    assert downloaded.read_bytes() == expected.read_bytes()


def test_finance_reconciles_a_carrier_file(
    browser: WebDriver, site: Site, charged: Charged
) -> None:
    first, second, _ = charged.ids
    local = charged.at.strftime("%d/%m/%Y %H:%M:%S")
    day = charged.at.strftime("%Y-%m-%d")
    carrier_file = site.workdir / "viettel.csv"
    # The carrier's own header, left to the page to recognise (no mapping typed).
    carrier_file.write_text(
        "Request_ID;User_ID;Time;Amount\n"
        f"{first};{PHONE};{local};1.000\n"
        f"{second};{PHONE};{local};2.000\n"
        f"not-ours-1;0977777777;{local};1.000\n",
        encoding="utf-8",
    )
    go(browser, site, "/console/reconciliation")
    with page(browser, site, "reconciliation"):
        assert browser.find_element(By.NAME, "col_phone").get_attribute("aria-describedby")
        fits_phone_width(browser)
        browser.find_element(By.NAME, "file").send_keys(str(carrier_file))
        # By keyboard: from the file field, Tab to the first button and press Enter.
        old = browser.find_element(By.TAG_NAME, "html")
        browser.find_element(By.ID, "reconcile-submit").send_keys(Keys.ENTER)
        wait_replaced(browser, old)
    with page(browser, site, "reconciliation-result"):
        assert text(browser, "count-matched") == "1"
        assert text(browser, "count-amount_mismatch") == "1"
        assert text(browser, "count-missing_ours") == "1"
        assert text(browser, "count-missing_theirs") == "1"
        assert text(browser, "total-difference") == "-1.000 ₫"
        assert "viettel tính nhiều hơn ta 1.000 ₫" in text(browser, "difference-words")
        assert "8497****777" in text(browser, "differences")
        fits_phone_width(browser)
    # The report comes from the result page: the file is not chosen again.
    browser.find_element(By.ID, "download-report").send_keys(Keys.ENTER)
    report = site.downloads / f"doi-soat-viettel-{day}-{day}.txt"
    WebDriverWait(browser, WAIT).until(lambda _: report.exists())
    text_of_report = report.read_text(encoding="utf-8")
    assert text_of_report.startswith("Đối soát viettel, ")
    assert "Chênh lệch tổng" in text_of_report and "8497****777" in text_of_report


def test_finance_sees_a_refusal_in_vietnamese_beside_a_kept_form(
    browser: WebDriver, site: Site
) -> None:
    bad = site.workdir / "bad.csv"
    bad.write_text("Ma;So;Luc;Gia\n1;2;3;4\n", encoding="utf-8")
    go(browser, site, "/console/reconciliation")
    fill(browser, col_id="Ma")
    browser.find_element(By.NAME, "file").send_keys(str(bad))
    submit(browser, "#reconcile-submit")
    with page(browser, site, "reconciliation-refused"):
        assert "không tìm thấy «Cột số điện thoại»" in text(browser, "upload-error")
        assert browser.find_element(By.NAME, "col_id").get_attribute("value") == "Ma"
        fits_phone_width(browser)
    # The refusal is a 400 on purpose: the browser logs it; take that entry, and only it, out.
    logged = severe_console_errors(browser)
    assert [e["message"] for e in logged if "400" not in e["message"]] == []


def test_finance_refunds_one_message_after_confirming(
    browser: WebDriver, site: Site, charged: Charged
) -> None:
    first, last = charged.first_day, charged.last_day
    go(browser, site, f"/console/refunds?from={first}&to={last}")
    with page(browser, site, "refunds"):
        boxes = browser.find_elements(By.CSS_SELECTOR, "#refundable input[name=message_id]")
        assert len(boxes) == 2  # the two wrong-syntax messages
        fits_phone_width(browser)
        # The script's "select every row" box, by keyboard: Space ticks all, again none.
        toggle = browser.find_element(By.ID, "pick-all")
        toggle.send_keys(Keys.SPACE)
        assert all(box.is_selected() for box in boxes)
        toggle.send_keys(Keys.SPACE)
        assert not any(box.is_selected() for box in boxes)
        boxes[0].send_keys(Keys.SPACE)
        assert toggle.get_attribute("indeterminate") == "true"
        fill(browser, reason="khieu nai 5678")
        submit(browser, "#refund-picked")
    with page(browser, site, "refunds-confirm"):
        assert text(browser, "confirm-total") == "1.000 ₫"
        browser.find_element(By.NAME, "confirm").send_keys(Keys.SPACE)
        submit(browser, "#refund-confirm")
        assert "Đã hoàn 1 tin nhắn, tổng 1.000 ₫" in text(browser, "refund-result")
    assert summary_total(site, charged) == "total,,,,3,3000,1000,2000"


def test_finance_refunds_a_served_message_for_a_complaint(
    browser: WebDriver, site: Site, charged: Charged
) -> None:
    first, last = charged.first_day, charged.last_day
    served = charged.ids[0]  # "BH MK 0123456789": the reset was sent, not refundable
    go(browser, site, f"/console/refunds?from={first}&to={last}")
    Select(browser.find_element(By.NAME, "forced_carrier")).select_by_value(CARRIER)
    fill(browser, forced_carrier_message_id=served, forced_reason="khieu nai 9012")
    submit(browser, "#forced-continue")
    with page(browser, site, "refunds-forced"):
        assert "không" in text(browser, "forced-policy")
        assert text(browser, "forced-amount") == "1.000 ₫"
        fits_phone_width(browser)
        browser.find_element(By.NAME, "confirm").send_keys(Keys.SPACE)
        submit(browser, "#forced-confirm")
        assert "ngoài chính sách" in text(browser, "refund-result")
    assert summary_total(site, charged) == "total,,,,3,3000,2000,1000"


def test_operator_sees_the_overview_and_flips_the_switch(browser: WebDriver, site: Site) -> None:
    submit(browser, ".signout button")
    enrol_and_sign_in(browser, site, "vanhanh@example.vn", "operator")
    with page(browser, site, "overview"):
        assert browser.current_url.endswith("/console/overview")
        chart_is_drawn(browser, "overview-chart")
        assert text(browser, "sms-switch") == "BẬT"
        fits_phone_width(browser)
    go(browser, site, "/console/messages")
    with page(browser, site, "messages"):
        fill(browser, phone=PHONE)
        submit(browser, "#message-search button")
        trails = browser.find_elements(By.CSS_SELECTOR, ".trail")
        assert len(trails) >= 3
        assert PHONE not in browser.page_source and "8491****678" in browser.page_source
    go(browser, site, "/console/switches")
    with page(browser, site, "switches"):
        fill(browser, reason="bao tri SMSC")
        browser.find_element(By.NAME, "confirm").click()
        submit(browser, "#switch-flip")
        assert text(browser, "switch-state") == "TẮT"


def test_admin_adds_a_member_in_the_browser(browser: WebDriver, site: Site) -> None:
    submit(browser, ".signout button")
    enrol_and_sign_in(browser, site, "quantri@example.vn", "admin")
    with page(browser, site, "staff"):
        assert browser.current_url.endswith("/console/staff")
        fits_phone_width(browser)
        fill(browser, email="moi@example.vn")
        submit(browser, "main form.period button")
        assert "/console/enrol/" in text(browser, "enrol-link")
    assert "moi@example.vn\toperator\tinvited" not in site.cli("staff", "list")
    assert "moi@example.vn\tfinance\tinvited" in site.cli("staff", "list")

    go(browser, site, "/console/staff")
    with page(browser, site, "staff-role"):
        row = browser.find_element(By.XPATH, "//tr[td[text()='moi@example.vn']]")
        Select(row.find_element(By.NAME, "role")).select_by_value("operator")
        row.find_element(By.CSS_SELECTOR, "form.inline button").click()
        assert browser.current_url.endswith("/console/staff")
    assert "moi@example.vn\toperator\tinvited" in site.cli("staff", "list")


def summary_total(site: Site, charged: Charged) -> str:
    """The total line of ``gateway charges summary --csv`` over the charged days."""
    first, last = charged.first_day, charged.last_day
    summary = site.cli("charges", "summary", "--from", first, "--to", last, "--csv")
    return summary.splitlines()[-1]


def fits_phone_width(browser: WebDriver) -> None:
    """At 390 px nothing pushes the page sideways: wide tables scroll inside their own box."""
    browser.set_window_size(*PHONE_SIZE)
    script = "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    try:
        # Charts redraw at the new width a moment after the resize: give them that moment.
        deadline = time.monotonic() + 3
        while (widths := browser.execute_script(script))[0] > widths[1]:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in {widths[1]} px"
    finally:
        browser.set_window_size(*LAPTOP)


def test_support_reads_a_message_timeline_by_keyboard(browser: WebDriver, site: Site) -> None:
    submit(browser, ".signout button")
    enrol_and_sign_in(browser, site, "hotro@example.vn", "support")
    assert browser.current_url.endswith("/console/messages")
    with page(browser, site, "support-search"):
        fill(browser, phone=PHONE)
        browser.find_element(By.NAME, "phone").send_keys(Keys.ENTER)  # no mouse
        WebDriverWait(browser, WAIT).until(
            lambda b: b.find_elements(By.CSS_SELECTOR, "#found tbody tr")
        )
        rows = browser.find_elements(By.CSS_SELECTOR, "#found tbody tr")
        assert len(rows) == 3
        assert PHONE not in browser.page_source and "8491****678" in browser.page_source
        fits_phone_width(browser)
    # The oldest is the reset: reach its link with the keyboard and follow it.
    link = rows[-1].find_element(By.TAG_NAME, "a")
    old = browser.find_element(By.TAG_NAME, "html")
    link.send_keys(Keys.ENTER)
    wait_replaced(browser, old)
    with page(browser, site, "support-timeline"):
        steps = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#timeline li strong")]
        assert steps[:5] == [
            "Nhận tin",
            "Xử lý",
            "Tính cước",
            "Xếp hàng trả lời",
            "Nhà mạng đã nhận",
        ]
        story = text(browser, "timeline")
        assert "BH MK 01******89" in story and "••••••••••" in story
        assert "0123456789" not in browser.page_source and PHONE not in browser.page_source
        fits_phone_width(browser)
    browser.find_element(By.LINK_TEXT, "Xem tài khoản").click()
    with page(browser, site, "support-account"):
        assert text(browser, "account-phone") == "8491****678"
        assert text(browser, "account-email") == "chưa có"
        fits_phone_width(browser)
    go(browser, site, "/console/audit?action=recovery")
    with page(browser, site, "support-audit"):
        assert len(browser.find_elements(By.CSS_SELECTOR, "#audit tbody tr")) >= 1
        fits_phone_width(browser)


def test_the_browser_reported_no_policy_violation(browser: WebDriver, site: Site) -> None:
    assert severe_console_errors(browser) == []
