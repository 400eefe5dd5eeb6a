"""What the real-browser tests share: headless Debian Chromium, screenshots, forms.

A test marked ``browser`` skips without Chromium, unless REQUIRE_BROWSER=1 (CI sets it): see
:func:`require_chromium`, which tests/e2e/conftest.py calls before each such test.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
LAPTOP, PHONE_SIZE = (1280, 900), (390, 844)
WAIT = 15  # seconds for a page or a file
# axe-core, vendored unchanged from npm (tests/e2e/assets/README.md: version and licence).
AXE = Path(__file__).parent / "assets" / "axe.min.js"
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")


def require_chromium() -> None:
    """Skip the calling test without Chromium, or fail it if REQUIRE_BROWSER=1."""
    if CHROMIUM and CHROMEDRIVER:
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail("REQUIRE_BROWSER=1 but chromium or chromedriver is missing", pytrace=False)
    pytest.skip("chromium and chromedriver are not installed", allow_module_level=True)


@contextlib.contextmanager
def chromium(profile: Path, prefs: dict[str, Any] | None = None) -> Iterator[WebDriver]:
    """Run a headless Chromium (Vietnamese, laptop-sized) until the block ends."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={LAPTOP[0]},{LAPTOP[1]}",
        "--lang=vi-VN",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "vi-VN,vi", **(prefs or {})})
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not go online
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER or ""))
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


@contextlib.contextmanager
def screenshots(
    browser: WebDriver,
    shots: Path,
    name: str,
    output: Callable[[], str],
    *,
    whole: bool = False,
    audit: bool = False,
) -> Iterator[None]:
    """Screenshot the page at laptop and phone width; on failure, say where the picture is.

    ``whole``: the phone picture shows the whole page, not only what fits in the window.
    ``audit``: also run axe-core's WCAG 2.2 A/AA rules at both widths (no violation allowed).
    """
    try:
        yield
        if audit:
            assert_accessible(browser, name)
    except BaseException:
        path = shots / f"FAILED-{name}.png"
        browser.save_screenshot(str(path))
        print(f"\nbrowser test failed on {name}: screenshot {path}\n{output()[-3000:]}")
        raise
    browser.save_screenshot(str(shots / f"{name}-laptop.png"))
    browser.set_window_size(*PHONE_SIZE)
    try:
        if whole:
            save_whole_page(browser, shots / f"{name}-phone.png")
        else:
            browser.save_screenshot(str(shots / f"{name}-phone.png"))
        if audit:
            assert_accessible(browser, f"{name} (phone width)")
    finally:
        browser.set_window_size(*LAPTOP)


def save_whole_page(browser: WebDriver, path: Path) -> None:
    """Save a PNG of the whole page at the window's width (Chromium's DevTools protocol)."""
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot", {"captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def fill(browser: WebDriver, **fields: str) -> None:
    """Type into the named inputs, replacing what they held."""
    for name, value in fields.items():
        element = browser.find_element(By.NAME, name)
        element.clear()
        element.send_keys(value)


def submit(browser: WebDriver, css: str) -> None:
    """Click a submit button and wait until the next page has replaced this one."""
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, css).click()
    wait_replaced(browser, old)


def wait_replaced(browser: WebDriver, old: WebElement) -> None:
    """Wait until ``old`` has left the document (the next page has loaded)."""
    # Mid-navigation chromedriver can answer "Node ... does not belong to the document" (a
    # plain WebDriverException) instead of a stale reference: ask again until it settles.
    wait = WebDriverWait(browser, WAIT, ignored_exceptions=(WebDriverException,))
    wait.until(staleness_of(old))


def severe_console_errors(browser: WebDriver) -> list[dict[str, Any]]:
    """Return the browser's own errors so far (a CSP violation, a failed load), not favicon's."""
    return [
        entry
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and "favicon" not in entry["message"]
    ]


def axe_violations(browser: WebDriver) -> list[dict[str, Any]]:
    """Run axe-core's WCAG 2.0, 2.1 and 2.2 A/AA rules on the page; return its violations.

    The script goes in through the DevTools protocol's evaluation, which a page's
    Content-Security-Policy does not govern (an injected <script> would be refused).
    """
    if not browser.execute_script("return typeof window.axe === 'object'"):
        browser.execute_cdp_cmd("Runtime.evaluate", {"expression": AXE.read_text(encoding="utf-8")})
    browser.set_script_timeout(WAIT * 2)
    result = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const only = {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']};
        axe.run(document, only).then(
            r => done(r.violations),
            e => done([{id: 'axe-error', help: String(e), nodes: []}]));
        """,
        list(AXE_TAGS),
    )
    return list(result)


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """Say each violation in a few lines: rule, impact, help and the offending elements."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']} [{v.get('helpUrl', '')}]")
        for node in v.get("nodes", [])[:5]:
            lines.append(f"    {' '.join(node.get('target', []))}: {node.get('html', '')[:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


def assert_accessible(browser: WebDriver, name: str) -> None:
    """Fail, listing them readably, if axe-core finds any WCAG 2.2 A/AA violation."""
    violations = axe_violations(browser)
    assert not violations, (
        f"axe-core: {len(violations)} violation(s) on {name} ({browser.current_url}):\n"
        + describe_violations(violations)
    )


def heading(browser: WebDriver) -> str:
    return browser.find_element(By.TAG_NAME, "h1").text


def error_of(browser: WebDriver, field: str) -> str:
    """The message shown for a field, checked to be the one its input is described by."""
    described = browser.find_element(By.ID, f"f-{field}").get_attribute("aria-describedby") or ""
    assert f"e-{field}" in described.split()
    return browser.find_element(By.ID, f"e-{field}").text


def tab_to(browser: WebDriver, name: str, presses: int = 25) -> None:
    """Press Tab until the input called ``name`` has the focus, ``presses`` times at most."""
    for _ in range(presses):
        if browser.switch_to.active_element.get_attribute("name") == name:
            return
        ActionChains(browser).send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element.get_attribute("name") == name, (
        f"Tab never reached {name}"
    )


def sign_out(browser: WebDriver) -> None:
    submit(browser, ".signout button")


def unexpected_console_errors(browser: WebDriver, refused: str = "400|401") -> list[dict[str, Any]]:
    """The browser's own errors but for the logged answers to refused forms (``refused``)."""
    answered = re.compile(rf"status of ({refused}) ")
    return [e for e in severe_console_errors(browser) if not answered.search(e["message"])]
