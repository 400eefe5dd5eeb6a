"""A copy of the database does not give away the staff's second factor.

The TOTP seed must be read to check a code, so it cannot be hashed; it is sealed with a key
derived from GATEWAY_SECRET_KEY, which is in the environment, not in the database. An attacker
with a dump reads the column and tries to open it; an operator who changed the key must get a
refused sign-in and a clear log line, not a 500.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.fernet import Fernet, InvalidToken
from flask.testing import FlaskClient
from sqlalchemy import text

from gateway import sealed
from gateway.runtime import Runtime
from tests.integration.console.conftest import Member, sign_in


def stored_seed(runtime: Runtime, email: str) -> str:
    with runtime.engine.connect() as connection:
        query = text("SELECT totp_secret FROM staff WHERE email = :email")
        return str(connection.scalar(query, {"email": email}))


def store_raw(runtime: Runtime, email: str, value: str) -> None:
    with runtime.engine.begin() as connection:
        query = text("UPDATE staff SET totp_secret = :value WHERE email = :email")
        connection.execute(query, {"value": value, "email": email})


def test_the_database_holds_no_seed_an_authenticator_could_use(
    enrolled: Callable[..., Member], runtime: Runtime
) -> None:
    member = enrolled("admin")

    raw = stored_seed(runtime, member.email)

    assert member.secret not in raw
    assert raw.startswith("gAAAAA")  # a Fernet token
    with pytest.raises(InvalidToken):  # a guessed key (here: a random one) does not open it
        Fernet(Fernet.generate_key()).decrypt(raw.encode())


def test_a_seed_stored_before_sealing_still_signs_in_and_is_sealed_by_it(
    enrolled: Callable[..., Member], runtime: Runtime, client: FlaskClient
) -> None:
    member = enrolled("admin")
    store_raw(runtime, member.email, member.secret)  # as revision 0005 left it

    assert sign_in(client, member).status_code == 302
    assert stored_seed(runtime, member.email).startswith("gAAAAA")


def test_a_seed_sealed_under_another_key_refuses_the_member_and_says_why(
    enrolled: Callable[..., Member],
    runtime: Runtime,
    client: FlaskClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    member = enrolled("admin")
    other = Fernet(Fernet.generate_key()).encrypt(member.secret.encode()).decode()
    store_raw(runtime, member.email, other)  # as if GATEWAY_SECRET_KEY had changed

    answer = sign_in(client, member)

    assert answer.status_code == 401
    assert "does not open with this GATEWAY_SECRET_KEY" in caplog.text
    assert member.secret not in caplog.text


def test_sealing_needs_a_key() -> None:
    column = sealed.SealedText()
    saved = sealed._ring
    sealed._ring = None
    try:
        with pytest.raises(RuntimeError, match="configure"):
            column.process_bind_param("JBSWY3DPEHPK3PXP", None)  # type: ignore[arg-type]
    finally:
        sealed._ring = saved
