"""The one rule of acceptance for RFC 6238 codes (staff console and Smart OTP), and the seed's
sealing in the database: a copy of the smart_otp table must not give away anyone's codes."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gateway.accounts import totp
from gateway.models import SmartOtp
from gateway.runtime import Runtime
from tests.harness import add_account

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = dt.datetime(2026, 11, 2, 3, 0, 10, tzinfo=dt.UTC)  # 10 s into a step
STEP = int(NOW.timestamp()) // 30


def code_at(moment: dt.datetime, secret: str = SECRET) -> str:
    return pyotp.TOTP(secret).at(moment)


@pytest.mark.parametrize(
    ("offset", "step"),
    [(0, STEP), (-30, STEP - 1), (30, STEP + 1), (-10, STEP), (19, STEP)],
    ids=["current", "previous step", "next step", "start of this step", "end of this step"],
)
def test_the_current_step_and_one_either_side_are_accepted_and_named(
    offset: int, step: int
) -> None:
    code = code_at(NOW + dt.timedelta(seconds=offset))

    assert totp.matching_step(SECRET, code, NOW) == step


@pytest.mark.parametrize("offset", [-60, 60, -90, 90, 3600])
def test_codes_two_or_more_steps_away_are_refused(offset: int) -> None:
    code = code_at(NOW + dt.timedelta(seconds=offset))
    window = {code_at(NOW + dt.timedelta(seconds=s)) for s in (-30, 0, 30)}
    if code in window:  # a one-in-a-million collision with an accepted code
        pytest.skip("the far code happens to equal an accepted one")

    assert totp.matching_step(SECRET, code, NOW) is None


def test_a_code_of_another_seed_is_refused() -> None:
    other = code_at(NOW, secret=pyotp.random_base32())
    if other in {code_at(NOW + dt.timedelta(seconds=s)) for s in (-30, 0, 30)}:
        pytest.skip("collision")

    assert totp.matching_step(SECRET, other, NOW) is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:5],  # short
        lambda c: c + "0",  # long
        lambda c: "0" + c,  # long, the code at its end
        lambda c: c[:5] + "a",  # a letter
        lambda c: c[:3] + "-" + c[3:],  # punctuation
        lambda c: c.translate(str.maketrans("0123456789", "０１２３４５６７８９")),  # full-width
        lambda c: c.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),  # Arabic-Indic
        lambda c: "",
        lambda c: "   ",
        lambda c: f"+{c[1:]}",
    ],
    ids=[
        "5 digits",
        "7 digits",
        "7 digits, code last",
        "a letter",
        "a dash",
        "full-width digits",
        "arabic-indic digits",
        "empty",
        "blank",
        "a sign",
    ],
)
def test_anything_but_six_ascii_digits_is_refused(mangle: object) -> None:
    code = code_at(NOW)

    assert totp.matching_step(SECRET, mangle(code), NOW) is None  # type: ignore[operator]


@pytest.mark.parametrize(
    "spaced",
    ["{a} {b}", " {a}{b} ", "{a}\t{b}", "{a}  {b}", "{a}\u00a0{b}"],
    ids=["as apps show it", "padded", "a tab", "two spaces", "a no-break space"],
)
def test_spaces_inside_and_around_the_code_are_allowed(spaced: str) -> None:
    code = code_at(NOW)

    typed = spaced.format(a=code[:3], b=code[3:])

    assert totp.matching_step(SECRET, typed, NOW) == STEP
    assert totp.normalize(typed) == code


def test_a_new_secret_is_160_bits_of_base32_and_never_repeats() -> None:
    seeds = {totp.new_secret() for _ in range(50)}

    assert len(seeds) == 50
    for seed in seeds:
        assert len(seed) == 32  # 32 base32 characters = 160 bits (RFC 4226's recommendation)
        assert set(seed) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def test_the_provisioning_uri_is_what_authenticator_apps_read() -> None:
    uri = totp.provisioning_uri(SECRET, name="0123456789", issuer="VssID BHXH")

    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == "/VssID BHXH:0123456789"
    query = parse_qs(parts.query)
    assert query["secret"] == [SECRET]
    assert query["issuer"] == ["VssID BHXH"]
    # Anything but the defaults (SHA1, 6 digits, 30 s) would have to be said; none is.
    assert query.get("digits", ["6"]) == ["6"]
    assert query.get("period", ["30"]) == ["30"]
    assert query.get("algorithm", ["SHA1"]) == ["SHA1"]
    parsed = pyotp.parse_uri(uri)
    assert parsed.now() == pyotp.TOTP(SECRET).now()


# -- sealing ----------------------------------------------------------------------------------


def raw_secrets(runtime: Runtime) -> tuple[str | None, str | None]:
    with runtime.engine.connect() as connection:
        row = connection.execute(text("SELECT secret, pending_secret FROM smart_otp")).one()
    return row[0], row[1]


def test_the_database_holds_a_fernet_token_never_the_seed(
    runtime: Runtime, session: Session
) -> None:
    account = add_account(session)
    seed, pending = totp.new_secret(), totp.new_secret()
    session.add(
        SmartOtp(
            account_id=account.id,
            secret=seed,
            enabled_at=NOW,
            pending_secret=pending,
            pending_since=NOW,
        )
    )
    session.commit()

    stored, stored_pending = raw_secrets(runtime)

    assert stored is not None and stored_pending is not None
    for raw, plain in ((stored, seed), (stored_pending, pending)):
        assert raw.startswith("gAAAAA")  # a Fernet token (version byte 0x80)
        assert plain not in raw and plain.lower() not in raw.lower()
        with pytest.raises(InvalidToken):  # a guessed key does not open it
            Fernet(Fernet.generate_key()).decrypt(raw.encode())
    assert stored != stored_pending
    session.expire_all()
    device = session.scalars(select(SmartOtp)).one()
    assert (device.secret, device.pending_secret) == (seed, pending)


def test_the_same_seed_sealed_twice_gives_two_tokens(runtime: Runtime, session: Session) -> None:
    first, second = add_account(session), add_account(session, "0987654321", "0987654321")
    seed = totp.new_secret()
    session.add_all(
        [SmartOtp(account_id=a.id, secret=seed, enabled_at=NOW) for a in (first, second)]
    )
    session.commit()

    with runtime.engine.connect() as connection:
        stored = list(connection.scalars(text("SELECT secret FROM smart_otp")))

    assert len(stored) == 2 and stored[0] != stored[1]  # equal seeds do not show as equal
