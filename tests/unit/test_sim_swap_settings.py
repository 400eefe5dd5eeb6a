"""SIM swap settings: per carrier all four variables or none, and the global policy's bounds."""

from __future__ import annotations

import re

import pytest

from gateway.errors import ConfigError
from gateway.settings import SimSwapApi, load_settings

BASE = {
    "GATEWAY_SECRET_KEY": "k" * 32,
    "GATEWAY_CARRIERS": "viettel,mobifone",
    "CARRIER_VIETTEL_SECRET": "v" * 20,
    "CARRIER_VIETTEL_MT_URL": "https://sms.viettel.example/mt",
    "CARRIER_MOBIFONE_SECRET": "m" * 20,
    "CARRIER_MOBIFONE_MT_URL": "https://sms.mobifone.example/mt",
}
VIETTEL_SIM_SWAP = {
    "CARRIER_VIETTEL_SIM_SWAP_URL": "https://api.viettel.example/sim-swap/v2/",
    "CARRIER_VIETTEL_SIM_SWAP_TOKEN_URL": "https://api.viettel.example/oauth2/token",
    "CARRIER_VIETTEL_SIM_SWAP_CLIENT_ID": "gateway-8079",
    "CARRIER_VIETTEL_SIM_SWAP_CLIENT_SECRET": "a client secret",
}


def test_off_by_default_open_240_hours_3_seconds() -> None:
    settings = load_settings(BASE)

    assert settings.carriers["viettel"].sim_swap is None
    assert settings.sim_swap.max_age_hours == 240
    assert settings.sim_swap.fail_closed is False
    assert settings.sim_swap.timeout == 3.0
    assert settings.sim_swap.concurrency == 8


def test_a_carrier_with_all_four_is_checked() -> None:
    settings = load_settings(BASE | VIETTEL_SIM_SWAP)

    assert settings.carriers["viettel"].sim_swap == SimSwapApi(
        url="https://api.viettel.example/sim-swap/v2",  # we add /check
        token_url="https://api.viettel.example/oauth2/token",
        client_id="gateway-8079",
        client_secret="a client secret",
        scope="sim-swap:check",
    )
    assert settings.carriers["mobifone"].sim_swap is None
    assert "a client secret" not in repr(settings)


def test_the_scope_can_be_the_carriers_own() -> None:
    settings = load_settings(
        BASE | VIETTEL_SIM_SWAP | {"CARRIER_VIETTEL_SIM_SWAP_SCOPE": "check-sim-swap"}
    )

    assert settings.carriers["viettel"].sim_swap is not None
    assert settings.carriers["viettel"].sim_swap.scope == "check-sim-swap"


@pytest.mark.parametrize("left_out", sorted(VIETTEL_SIM_SWAP))
def test_three_of_four_names_the_missing_one_on_one_line(left_out: str) -> None:
    environ = BASE | {k: v for k, v in VIETTEL_SIM_SWAP.items() if k != left_out}

    with pytest.raises(ConfigError) as raised:
        load_settings(environ)

    message = str(raised.value)
    assert message.startswith(f"{left_out} is required when CARRIER_VIETTEL_SIM_SWAP_")
    assert "\n" not in message


def test_one_of_four_names_the_first_missing() -> None:
    environ = BASE | {"CARRIER_VIETTEL_SIM_SWAP_CLIENT_SECRET": "a client secret"}

    with pytest.raises(ConfigError, match=r"^CARRIER_VIETTEL_SIM_SWAP_URL is required when "):
        load_settings(environ)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CARRIER_VIETTEL_SIM_SWAP_URL", "http://api.viettel.example/sim-swap/v2"),
        ("CARRIER_VIETTEL_SIM_SWAP_TOKEN_URL", "http://10.0.0.5/oauth2/token"),
        ("CARRIER_VIETTEL_SIM_SWAP_URL", "api.viettel.example/sim-swap"),
    ],
)
def test_the_secret_and_the_phones_travel_over_https_only(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{variable}="):
        load_settings(BASE | VIETTEL_SIM_SWAP | {variable: value})


def test_plain_http_is_allowed_on_this_machine() -> None:
    local = {
        "CARRIER_VIETTEL_SIM_SWAP_URL": "http://127.0.0.1:8091/sim-swap/v2",
        "CARRIER_VIETTEL_SIM_SWAP_TOKEN_URL": "http://localhost:8091/oauth2/token",
    }

    settings = load_settings(BASE | VIETTEL_SIM_SWAP | local)

    assert settings.carriers["viettel"].sim_swap is not None


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"GATEWAY_SIM_SWAP_MAX_AGE": "1"}, 1),
        ({"GATEWAY_SIM_SWAP_MAX_AGE": "2400"}, 2400),
        ({"GATEWAY_SIM_SWAP_ON_ERROR": "closed"}, True),
        ({"GATEWAY_SIM_SWAP_ON_ERROR": "Open"}, False),
        ({"GATEWAY_SIM_SWAP_TIMEOUT": "0.5"}, 0.5),
    ],
)
def test_policy_values(environ: dict[str, str], expected: object) -> None:
    policy = load_settings(BASE | environ).sim_swap

    value = {
        "GATEWAY_SIM_SWAP_MAX_AGE": policy.max_age_hours,
        "GATEWAY_SIM_SWAP_ON_ERROR": policy.fail_closed,
        "GATEWAY_SIM_SWAP_TIMEOUT": policy.timeout,
    }[next(iter(environ))]
    assert value == expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GATEWAY_SIM_SWAP_MAX_AGE", "0"),
        ("GATEWAY_SIM_SWAP_MAX_AGE", "2401"),
        ("GATEWAY_SIM_SWAP_MAX_AGE", "10d"),
        ("GATEWAY_SIM_SWAP_ON_ERROR", "refuse"),
        ("GATEWAY_SIM_SWAP_TIMEOUT", "0"),
        ("GATEWAY_SIM_SWAP_TIMEOUT", "31"),
        ("GATEWAY_SIM_SWAP_CONCURRENCY", "0"),
        ("GATEWAY_SIM_SWAP_CONCURRENCY", "65"),
    ],
)
def test_bad_policy_values_name_their_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"{variable}={value!r}: ")):
        load_settings(BASE | {variable: value})
