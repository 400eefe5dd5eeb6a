"""Two keyword services (BH QT, BH THE) forwarded to the demo's stand-in on loopback."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.settings import ServiceSettings
from parsers import ArgumentKind
from tests.conftest import base_environ
from tests.integration.sms.conftest import sms_path  # noqa: F401 (batched, and one by one)
from tests.service_server import Scripted, serving

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
QT_TARIFFS = "carrier,shortcode,amount_vnd,effective_from\nviettel,8079,2000,2026-01-01\n"


@pytest.fixture
def service_secret() -> str:
    """The secret the stand-in verifies with (a test gives it another one)."""
    return SECRET


@pytest.fixture
def stand_in(service_secret: str) -> Iterator[tuple[str, Scripted]]:
    services = [
        ServiceSettings("qt", ("BH QT",), "http://unused", service_secret),
        ServiceSettings("the", ("BH THE",), "http://unused", service_secret),
    ]
    with serving(services) as served:
        yield served


@pytest.fixture
def service(stand_in: tuple[str, Scripted]) -> Scripted:
    return stand_in[1]


@pytest.fixture
def environ(tmp_path: Path, stand_in: tuple[str, Scripted]) -> dict[str, str]:
    url = stand_in[0]
    tariffs = tmp_path / "qt-tariffs.csv"
    tariffs.write_text(QT_TARIFFS)
    env = base_environ(tmp_path)
    env.update(
        {
            "GATEWAY_SERVICES": "qt,the",
            "SERVICE_QT_KEYWORDS": "BH QT,BHXH QT",
            "SERVICE_QT_URL": f"{url}/services/qt",
            "SERVICE_QT_SECRET": SECRET,
            "SERVICE_QT_TIMEOUT": "1",
            "SERVICE_QT_TARIFF": str(tariffs),
            "SERVICE_THE_KEYWORDS": "BH THE",
            "SERVICE_THE_URL": f"{url}/services/the",
            "SERVICE_THE_SECRET": SECRET,
            "SERVICE_THE_ARGUMENT": ArgumentKind.BHXH.value,
            "SERVICE_THE_TIMEOUT": "1",
            "GATEWAY_SERVICES_TRIP_AFTER": "2",
        }
    )
    return env
