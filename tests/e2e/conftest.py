"""Fixtures the end-to-end modules share: a carrier stand-in, and one Chromium per module.

A browser test module defines its own ``site`` (see tests/e2e/site.py) for ``browser`` to open.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.browser import chromium, require_chromium
from tests.e2e.site import Site
from tests.e2e.stand_in import CarrierStandIn, serving_carrier
from tests.e2e.support import CARRIER_SECRET


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before its fixtures start anything: a ``browser`` test needs Chromium and chromedriver."""
    if item.get_closest_marker("browser"):
        require_chromium()


@pytest.fixture(scope="module")
def carrier() -> Iterator[CarrierStandIn]:
    """The carrier's MT endpoint, recording what the module's gateway sends."""
    with serving_carrier(CARRIER_SECRET) as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[WebDriver]:
    """One headless Chromium for the module: its tests run in order and share its cookies."""
    prefs = {
        "download.default_directory": str(site.downloads),
        "download.prompt_for_download": False,
    }
    with chromium(site.workdir / "chromium-profile", prefs) as driver:
        yield driver
