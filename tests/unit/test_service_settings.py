"""Keyword services' settings: one block per service, checked at start with one-line errors."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from gateway.errors import ConfigError
from gateway.settings import load_settings
from parsers import ArgumentKind

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
BASE = {"GATEWAY_SECRET_KEY": "k" * 32}
QT = {
    "GATEWAY_SERVICES": "qt",
    "SERVICE_QT_KEYWORDS": "bh  qt, BHXH QT",
    "SERVICE_QT_URL": "https://qt.agency.example/8079",
    "SERVICE_QT_SECRET": SECRET,
}


def test_no_services_by_default() -> None:
    settings = load_settings(BASE)

    assert settings.services == {}
    assert settings.services_retry_horizon == dt.timedelta(minutes=10)
    assert settings.services_trip_after == 5


def test_a_service_block_is_read_with_its_defaults() -> None:
    service = load_settings(BASE | QT).services["qt"]

    assert service.keywords == ("BH QT", "BHXH QT")
    assert service.url == "https://qt.agency.example/8079"
    assert service.argument is ArgumentKind.BHXH
    assert service.timeout == 5.0
    assert service.tariffs_file is None
    assert SECRET not in repr(service)


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"SERVICE_QT_KEYWORDS": ""}, "SERVICE_QT_KEYWORDS is required"),
        ({"SERVICE_QT_KEYWORDS": "BH QT2"}, "SERVICE_QT_KEYWORDS='BH QT2': expected keywords"),
        ({"SERVICE_QT_KEYWORDS": "BH"}, "SERVICE_QT_KEYWORDS: 'BH' overlaps recovery's 'BH MK'"),
        ({"SERVICE_QT_KEYWORDS": "bh mat khau"}, "overlaps recovery's 'BH MAT KHAU'"),
        ({"SERVICE_QT_URL": "ftp://x"}, "SERVICE_QT_URL='ftp://x': expected an http"),
        ({"SERVICE_QT_URL": "http://qt.agency.example/"}, "expected an https:// URL"),
        ({"SERVICE_QT_SECRET": "not-a-secret-at-all"}, "SERVICE_QT_SECRET must be whsec_"),
        ({"SERVICE_QT_SECRET": "whsec_c2hvcnQ="}, "SERVICE_QT_SECRET must be whsec_"),
        ({"SERVICE_QT_ARGUMENT": "phone"}, "expected bhxh, file_id or text"),
        ({"SERVICE_QT_TIMEOUT": "0"}, "SERVICE_QT_TIMEOUT='0': must be positive"),
        ({"SERVICE_QT_TIMEOUT": "61"}, "SERVICE_<NAME>_TIMEOUT"),
        ({"GATEWAY_SERVICES": "recovery"}, "'recovery' is not a valid, unique service name"),
        ({"GATEWAY_SERVICES": "qt,qt"}, "'qt' is not a valid, unique service name"),
    ],
)
def test_a_bad_block_stops_the_start_in_one_line(extra: dict[str, str], error: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(BASE | QT | extra)

    assert error in str(raised.value)
    assert "\n" not in str(raised.value)
    assert "not-a-secret-at-all" not in str(raised.value)


def test_two_services_may_not_share_a_keyword() -> None:
    the = {
        "GATEWAY_SERVICES": "qt,the",
        "SERVICE_THE_KEYWORDS": "BHXH QT",
        "SERVICE_THE_URL": "https://the.agency.example/",
        "SERVICE_THE_SECRET": SECRET,
    }

    with pytest.raises(ConfigError, match="SERVICE_THE_KEYWORDS: 'BHXH QT' overlaps qt's"):
        load_settings(BASE | QT | the)
