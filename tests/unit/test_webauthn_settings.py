"""WebAuthn settings: the RP ID and origins come from GATEWAY_PUBLIC_URL unless set, and a value
that no browser would accept stops the start with a message naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from gateway.errors import ConfigError
from gateway.settings import WebAuthnSettings, load_settings
from tests.conftest import base_environ

MINIMAL = {"GATEWAY_SECRET_KEY": "k" * 32}
APK_HASH = "android:apk-key-hash:" + "Xy0_-Z" * 7 + "A"  # 43 base64url characters
RP_NAME = "VssID - Bảo hiểm xã hội số"


def webauthn(**env: str) -> WebAuthnSettings:
    return load_settings({**MINIMAL, **env}).webauthn


def origins(value: str) -> dict[str, str]:
    """GATEWAY_WEBAUTHN_ORIGINS for a gateway published at https://example.vn."""
    return {"GATEWAY_PUBLIC_URL": "https://example.vn", "GATEWAY_WEBAUTHN_ORIGINS": value}


@pytest.mark.parametrize(
    ("public_url", "rp_id", "origin"),
    [
        (None, "localhost", "http://localhost:8000"),
        ("http://localhost:8000", "localhost", "http://localhost:8000"),
        ("https://localhost:8443", "localhost", "https://localhost:8443"),
        ("https://dichvucong.baohiemxahoi.gov.vn", "dichvucong.baohiemxahoi.gov.vn",
         "https://dichvucong.baohiemxahoi.gov.vn"),
        ("https://DVC.Example.VN:8443/cong/", "dvc.example.vn", "https://dvc.example.vn:8443"),
    ],
)  # fmt: skip
def test_the_rp_id_and_origin_default_to_the_public_url(
    public_url: str | None, rp_id: str, origin: str
) -> None:
    """Without GATEWAY_WEBAUTHN_*, the public URL's host is the RP ID and its scheme, host and
    port (lower-case, no path) the one origin."""
    env = {} if public_url is None else {"GATEWAY_PUBLIC_URL": public_url}

    assert webauthn(**env) == WebAuthnSettings(rp_id=rp_id, rp_name=RP_NAME, origins=(origin,))


@pytest.mark.parametrize(
    "public_url",
    ["http://127.0.0.1:8000", "http://[::1]:8000", "https://10.0.0.5", "http://dvc.example.vn"],
)
def test_passkeys_are_off_where_a_browser_would_refuse_the_public_url(public_url: str) -> None:
    """An IP address, or plain http off localhost, is no RP ID: passkeys are off, not broken."""
    settings = webauthn(GATEWAY_PUBLIC_URL=public_url)

    assert (settings.rp_id, settings.origins) == (None, ())


def test_an_explicit_rp_id_and_origins_serve_a_gateway_behind_an_ip_url() -> None:
    """The internal URL may be an IP when the RP ID and origins are set: app and subdomain."""
    settings = webauthn(
        GATEWAY_PUBLIC_URL="http://10.0.0.5:8000",
        GATEWAY_WEBAUTHN_RP_ID="Example.VN",
        GATEWAY_WEBAUTHN_ORIGINS=f" https://example.vn , https://dvc.example.vn:8443,{APK_HASH}",
        GATEWAY_WEBAUTHN_RP_NAME="Cổng BHXH",
    )

    assert settings == WebAuthnSettings(
        rp_id="example.vn",
        rp_name="Cổng BHXH",
        origins=("https://example.vn", "https://dvc.example.vn:8443", APK_HASH),
    )


def test_an_android_apk_key_hash_origin_is_accepted() -> None:
    """The VssID Android app signs its assertions with android:apk-key-hash:<SHA-256>."""
    settings = webauthn(
        GATEWAY_PUBLIC_URL="https://example.vn",
        GATEWAY_WEBAUTHN_ORIGINS=f"https://example.vn,{APK_HASH}=",
    )

    assert settings.origins == ("https://example.vn", f"{APK_HASH}=")


def test_the_rp_name_defaults_to_the_vssid_name() -> None:
    """What the authenticator shows the citizen, unless GATEWAY_WEBAUTHN_RP_NAME says else."""
    assert webauthn().rp_name == RP_NAME
    assert webauthn(GATEWAY_WEBAUTHN_RP_NAME="VssID").rp_name == "VssID"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GATEWAY_WEBAUTHN_RP_ID": "127.0.0.1"}, "GATEWAY_WEBAUTHN_RP_ID.*IP address"),
        ({"GATEWAY_WEBAUTHN_RP_ID": "::1"}, "GATEWAY_WEBAUTHN_RP_ID.*IP address"),
        ({"GATEWAY_WEBAUTHN_RP_ID": "https://example.vn"}, "GATEWAY_WEBAUTHN_RP_ID.*domain"),
        ({"GATEWAY_WEBAUTHN_RP_ID": "example.vn:443"}, "GATEWAY_WEBAUTHN_RP_ID.*domain"),
        (origins("https://example.net"), "example.net is not on"),
        (origins("https://notexample.vn"), "notexample.vn is not on"),
        (origins("http://example.vn"), "ORIGINS.*need https"),
        (origins("https://example.vn/vssid"), "ORIGINS.*https://host"),
        (origins("ftp://example.vn"), "ORIGINS.*https://host"),
        (origins("android:apk-key-hash:abc"), "ORIGINS.*apk-key-hash"),
        (origins(APK_HASH + "A"), "ORIGINS.*apk-key-hash"),
        (origins(APK_HASH[:-1] + "+"), "ORIGINS.*apk-key-hash"),
        ({"GATEWAY_PUBLIC_URL": "http://10.0.0.5:8000",
          "GATEWAY_WEBAUTHN_RP_ID": "example.vn"}, "example.vn: set GATEWAY_WEBAUTHN_ORIGINS"),
        ({"GATEWAY_PUBLIC_URL": "http://10.0.0.5:8000",
          "GATEWAY_WEBAUTHN_ORIGINS": "https://example.vn"}, "set GATEWAY_WEBAUTHN_RP_ID too"),
        ({"GATEWAY_WEBAUTHN_RP_ID": "example.vn"}, "localhost:8000 is not on"),
    ],
    ids=[
        "IPv4 RP ID", "IPv6 RP ID", "RP ID with scheme", "RP ID with port",
        "origin off the RP ID", "origin sharing only a suffix", "http origin off localhost",
        "origin with a path", "origin not http(s)", "apk hash too short", "apk hash too long",
        "apk hash not base64url", "RP ID without usable origins", "origins without an RP ID",
        "RP ID the default origin is not on",
    ],
)  # fmt: skip
def test_a_setting_no_browser_would_accept_stops_the_start(
    env: dict[str, str], message: str
) -> None:
    """Each of these would make every passkey ceremony fail: refuse at start, name the setting."""
    with pytest.raises(ConfigError, match=message):
        load_settings({**MINIMAL, **env})


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    """A gateway reached by IP address only: passkeys off."""
    environ["GATEWAY_PUBLIC_URL"] = "http://127.0.0.1:8000"
    return environ


def test_with_passkeys_off_the_passkey_api_answers_404(client: FlaskClient) -> None:
    """Where no RP ID can be had, the ceremonies are not found rather than half working."""
    for path in ("/api/v1/passkeys/authentication/options", "/api/v1/recovery/passkey/options"):
        answer = client.post(path, json={})

        assert answer.status_code == 404, path
        assert answer.get_json()["error"] == "not_found"


def test_the_test_environ_turns_passkeys_on_for_localhost(tmp_path: Path) -> None:
    """The suite's base settings (no public URL) have passkeys on, for http://localhost:8000."""
    assert load_settings(base_environ(tmp_path)).webauthn.origins == ("http://localhost:8000",)


@pytest.mark.parametrize(
    "origin",
    [
        "https://example.vn?x=1",
        "https://example.vn#top",
        "https://user@example.vn",
        "https://EXAMPLE.vn",
        "https://example.vn:99999",
        "https://example.vn:443",
        "https://example.vn/",
    ],
)
def test_an_origin_no_browser_sends_is_refused_or_normalised(origin: str) -> None:
    """A browser serialises an origin as scheme://host[:port], lower-case, without the
    default port: any other spelling must be refused (or normalised) at start."""
    try:
        origins = webauthn(GATEWAY_PUBLIC_URL="https://example.vn", GATEWAY_WEBAUTHN_ORIGINS=origin)
    except ConfigError:
        return

    assert origins.origins == ("https://example.vn",)


def test_a_public_url_with_its_default_port_gives_the_origin_browsers_send() -> None:
    """https://example.vn:443 is the origin https://example.vn."""
    assert webauthn(GATEWAY_PUBLIC_URL="https://example.vn:443/").origins == ("https://example.vn",)
