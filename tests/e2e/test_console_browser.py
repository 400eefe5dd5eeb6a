"""The console in a real browser: Debian's Chromium driven by Selenium against real gunicorn.

A finance member enrols (opening the link from another site, as from webmail, typing the code
mailed to them, then reading the TOTP secret off the page), signs in, sees the charges chart
drawn, downloads the CSV (compared with ``gateway charges export``), reconciles a carrier file
and refunds a message; an operator sees the overview chart and flips the switch.
Screenshots of every page land in the test's tmp folder; a failure prints where.

Skips when Chromium or chromedriver is missing, unless REQUIRE_BROWSER=1 (CI sets it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from billing.periods import LOCAL_TZ
from tests.conftest import fresh_database
from tests.e2e.browser import (
    LAPTOP,
    PHONE_SIZE,
    WAIT,
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

PASSWORD = "mat khau nhan vien dai"
PHONE = "0912345678"
MAILED_CODE = re.compile(r"là: (\d{6})")
MAIL_DEADLINE = 20.0  # seconds for the worker to send the enrolment mail


@dataclass
class Site:
    """The running gateway, its CLI environment and where screenshots go."""

    gateway: Gateway
    smtp: SmtpServer
    env: dict[str, str]
    workdir: Path
    shots: Path
    downloads: Path
    charged: list[str]  # carrier message ids of the messages texted in
    # The local days and time they were charged: a test running after local midnight must still
    # look at the day the fixture charged, not at "today".
    first_day: str
    last_day: str
    charged_at: dt.datetime

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "gateway", *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode in (0, 1), result.stderr
        return result.stdout

    def mailed_code(self, address: str) -> str:
        """Wait for the enrolment mail to ``address``; return its code."""
        deadline = time.monotonic() + MAIL_DEADLINE
        while time.monotonic() < deadline:
            for mail in self.smtp.messages:
                body = mail.get_body(preferencelist=("plain",))
                found = MAILED_CODE.search(body.get_content() if body else "")
                if address in str(mail["To"]) and found:
                    return found[1]
            time.sleep(0.1)
        pytest.fail(f"no code reached {address} in {MAIL_DEADLINE} s\n{self.gateway.output()}")

    def server_log(self) -> str:
        """Everything gunicorn has written, its access lines included."""
        return self.gateway.logs["server"].read_text(errors="replace")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("console")
    with contextlib.ExitStack() as stack:
        carrier: CarrierStandIn = stack.enter_context(serving_carrier(CARRIER_SECRET))
        smtp = SmtpServer()
        smtp.start()
        stack.callback(smtp.stop)
        database_url = stack.enter_context(fresh_database(workdir))
        env = gateway_environ(workdir, carrier, database_url)
        env["GATEWAY_CONSOLE_SECURE_COOKIES"] = "false"  # plain HTTP on loopback
        env["GATEWAY_REFUND_WRONG_SYNTAX"] = "true"  # so the test has a refundable message
        # Four members enrol and sign in from one address within a minute (3 posts each).
        env["GATEWAY_RATELIMIT_LOGIN"] = "60/minute;600/hour"
        env["GATEWAY_SMTP_HOST"] = "127.0.0.1"
        env["GATEWAY_SMTP_PORT"] = str(smtp.port)
        env["GATEWAY_SMTP_SECURITY"] = "none"
        port = free_port()
        env["GATEWAY_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        run_cli(env, workdir, "init-db")
        accounts = workdir / "accounts.csv"
        accounts.write_text(f"bhxh,phone,email,approved_at\n0123456789,{PHONE},,2026-01-15\n")
        run_cli(env, workdir, "accounts", "import", str(accounts))
        serve = ["serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
        server, server_log = stack.enter_context(process("server", serve, env, workdir))
        _, worker_log = stack.enter_context(process("worker", ["worker"], env, workdir))
        gateway = Gateway(f"http://127.0.0.1:{port}", {"server": server_log, "worker": worker_log})
        wait_healthy(gateway.url, gateway, server)
        charged = []
        started = dt.datetime.now(LOCAL_TZ)
        for text in ("BH MK 0123456789", "xin chao", "BH MK"):
            mo_id = new_mo_id()
            answer = signed_post(f"{gateway.url}/carriers/{CARRIER}/mo", mo(text, PHONE, mo_id))
            assert answer.status_code == 200, answer.text
            carrier.wait_for_reply(mo_id, gateway)
            charged.append(mo_id)
        shots, downloads = workdir / "screenshots", workdir / "downloads"
        shots.mkdir()
        downloads.mkdir()
        ended = dt.datetime.now(LOCAL_TZ)
        yield Site(
            gateway,
            smtp,
            env,
            workdir,
            shots,
            downloads,
            charged,
            started.date().isoformat(),
            ended.date().isoformat(),
            ended,
        )


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[WebDriver]:
    prefs = {
        "download.default_directory": str(site.downloads),
        "download.prompt_for_download": False,
    }
    with chromium(site.workdir / "chromium-profile", prefs) as driver:
        yield driver


def page_check(
    browser: WebDriver, site: Site, name: str
) -> contextlib.AbstractContextManager[None]:
    """Screenshot the page at laptop and phone width; on failure, say where the picture is."""
    return screenshots(browser, site.shots, name, site.gateway.output)


def go(browser: WebDriver, site: Site, path: str) -> None:
    browser.get(site.gateway.url + path)


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
    with page_check(browser, site, f"enrol-code-{role}"):
        assert browser.find_elements(By.ID, "totp-secret") == []
        fill(browser, code=site.mailed_code(email))
        submit(browser, "#enrol-email button[type=submit]")
    with page_check(browser, site, f"enrol-{role}"):
        assert browser.find_element(By.CSS_SELECTOR, ".qr svg path")
        secret = text(browser, "totp-secret")
    totp = pyotp.TOTP(secret)
    fill(browser, password=PASSWORD, password2=PASSWORD, code=totp.now())
    submit(browser, "#enrol-finish button[type=submit]")
    assert "Đã đăng ký" in browser.find_element(By.TAG_NAME, "h1").text
    access_log = site.server_log()
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
    browser: WebDriver, site: Site
) -> None:
    enrol_and_sign_in(browser, site, "ketoan@example.vn", "finance")
    first, last = site.first_day, site.last_day
    go(browser, site, f"/console/charges?from={first}&to={last}")
    with page_check(browser, site, "charges"):
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


def test_finance_reconciles_a_carrier_file(browser: WebDriver, site: Site) -> None:
    first, second, _ = site.charged
    local = site.charged_at.strftime("%d/%m/%Y %H:%M:%S")
    day = site.charged_at.strftime("%Y-%m-%d")
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
    with screenshots(browser, site.shots, "reconciliation", site.gateway.output, audit=True):
        assert browser.find_element(By.NAME, "col_phone").get_attribute("aria-describedby")
        fits_phone_width(browser)
        browser.find_element(By.NAME, "file").send_keys(str(carrier_file))
        # By keyboard: from the file field, Tab to the first button and press Enter.
        old = browser.find_element(By.TAG_NAME, "html")
        browser.find_element(By.ID, "reconcile-submit").send_keys(Keys.ENTER)
        wait_replaced(browser, old)
    with screenshots(browser, site.shots, "reconciliation-result", site.gateway.output, audit=True):
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
    with screenshots(
        browser, site.shots, "reconciliation-refused", site.gateway.output, audit=True
    ):
        assert "không tìm thấy «Cột số điện thoại»" in text(browser, "upload-error")
        assert browser.find_element(By.NAME, "col_id").get_attribute("value") == "Ma"
        fits_phone_width(browser)
    # The refusal is a 400 on purpose: the browser logs it; take that entry, and only it, out.
    logged = severe_console_errors(browser)
    assert [e["message"] for e in logged if "400" not in e["message"]] == []


def test_finance_refunds_one_message_after_confirming(browser: WebDriver, site: Site) -> None:
    first, last = site.first_day, site.last_day
    go(browser, site, f"/console/refunds?from={first}&to={last}")
    with screenshots(browser, site.shots, "refunds", site.gateway.output, audit=True):
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
    with screenshots(browser, site.shots, "refunds-confirm", site.gateway.output, audit=True):
        assert text(browser, "confirm-total") == "1.000 ₫"
        browser.find_element(By.NAME, "confirm").send_keys(Keys.SPACE)
        submit(browser, "#refund-confirm")
        assert "Đã hoàn 1 tin nhắn, tổng 1.000 ₫" in text(browser, "refund-result")
    summary = site.cli("charges", "summary", "--from", first, "--to", last, "--csv")
    assert summary.splitlines()[-1] == "total,,,3,3000,1000,2000"


def test_finance_refunds_a_served_message_for_a_complaint(browser: WebDriver, site: Site) -> None:
    first, last = site.first_day, site.last_day
    served = site.charged[0]  # "BH MK 0123456789": the reset was sent, not refundable
    go(browser, site, f"/console/refunds?from={first}&to={last}")
    Select(browser.find_element(By.NAME, "forced_carrier")).select_by_value(CARRIER)
    fill(browser, forced_carrier_message_id=served, forced_reason="khieu nai 9012")
    submit(browser, "#forced-continue")
    with screenshots(browser, site.shots, "refunds-forced", site.gateway.output, audit=True):
        assert "không" in text(browser, "forced-policy")
        assert text(browser, "forced-amount") == "1.000 ₫"
        fits_phone_width(browser)
        browser.find_element(By.NAME, "confirm").send_keys(Keys.SPACE)
        submit(browser, "#forced-confirm")
        assert "ngoài chính sách" in text(browser, "refund-result")
    summary = site.cli("charges", "summary", "--from", first, "--to", last, "--csv")
    assert summary.splitlines()[-1] == "total,,,3,3000,2000,1000"


def test_operator_sees_the_overview_and_flips_the_switch(browser: WebDriver, site: Site) -> None:
    submit(browser, ".signout button")
    enrol_and_sign_in(browser, site, "vanhanh@example.vn", "operator")
    with page_check(browser, site, "overview"):
        assert browser.current_url.endswith("/console/overview")
        chart_is_drawn(browser, "overview-chart")
        assert text(browser, "sms-switch") == "BẬT"
        fits_phone_width(browser)
    go(browser, site, "/console/messages")
    with page_check(browser, site, "messages"):
        fill(browser, phone=PHONE)
        submit(browser, "#message-search button")
        trails = browser.find_elements(By.CSS_SELECTOR, ".trail")
        assert len(trails) >= 3
        assert PHONE not in browser.page_source and "8491****678" in browser.page_source
    go(browser, site, "/console/switches")
    with page_check(browser, site, "switches"):
        fill(browser, reason="bao tri SMSC")
        browser.find_element(By.NAME, "confirm").click()
        submit(browser, "#switch-flip")
        assert text(browser, "switch-state") == "TẮT"


def test_admin_adds_a_member_in_the_browser(browser: WebDriver, site: Site) -> None:
    submit(browser, ".signout button")
    enrol_and_sign_in(browser, site, "quantri@example.vn", "admin")
    with page_check(browser, site, "staff"):
        assert browser.current_url.endswith("/console/staff")
        fits_phone_width(browser)
        fill(browser, email="moi@example.vn")
        submit(browser, "main form.period button")
        assert "/console/enrol/" in text(browser, "enrol-link")
    assert "moi@example.vn\toperator\tinvited" not in site.cli("staff", "list")
    assert "moi@example.vn\tfinance\tinvited" in site.cli("staff", "list")

    go(browser, site, "/console/staff")
    with page_check(browser, site, "staff-role"):
        row = browser.find_element(By.XPATH, "//tr[td[text()='moi@example.vn']]")
        Select(row.find_element(By.NAME, "role")).select_by_value("operator")
        row.find_element(By.CSS_SELECTOR, "form.inline button").click()
        assert browser.current_url.endswith("/console/staff")
    assert "moi@example.vn\toperator\tinvited" in site.cli("staff", "list")


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
    with screenshots(browser, site.shots, "support-search", site.gateway.output, audit=True):
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
    with screenshots(browser, site.shots, "support-timeline", site.gateway.output, audit=True):
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
    with screenshots(browser, site.shots, "support-account", site.gateway.output, audit=True):
        assert text(browser, "account-phone") == "8491****678"
        assert text(browser, "account-email") == "chưa có"
        fits_phone_width(browser)
    go(browser, site, "/console/audit?action=recovery")
    with screenshots(browser, site.shots, "support-audit", site.gateway.output, audit=True):
        assert len(browser.find_elements(By.CSS_SELECTOR, "#audit tbody tr")) >= 1
        fits_phone_width(browser)


def test_the_browser_reported_no_policy_violation(browser: WebDriver, site: Site) -> None:
    assert severe_console_errors(browser) == []
