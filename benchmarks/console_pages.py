"""Time the console's heaviest pages on a large month: Charges, Overview, the CSV download.

    python benchmarks/console_pages.py [--entries 200000]

It fills a fresh SQLite file as ``export_charges.py`` does (messages and charges over November
2026), signs a finance and an operator member in through the Flask test client, and times each
page (median of three) with the clock set to 30 Nov 2026. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyotp

sys.path.insert(0, str(Path(__file__).parent))
from export_charges import fill

from gateway.app import create_app
from gateway.clock import FakeClock
from gateway.console.staff import add_staff, complete_enrolment, staff_for_enrolment
from gateway.db import create_schema
from gateway.settings import load_settings

PASSWORD = "benchmark passphrase"  # noqa: S105 (a throw-away database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clock = FakeClock(dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC))
        settings = load_settings(
            {
                "DATABASE_URL": f"sqlite:///{folder}/bench.db",
                "GATEWAY_INSTANCE_DIR": folder,
                "GATEWAY_SECRET_KEY": "benchmark-secret-key-0123456789",
                "GATEWAY_CONSOLE_SECURE_COOKIES": "false",
            }
        )
        app = create_app(settings, clock=clock)
        runtime = app.extensions["gateway"]
        create_schema(runtime.engine)
        started = time.perf_counter()
        fill(runtime.engine, args.entries)
        print(f"filled {args.entries} entries in {time.perf_counter() - started:.1f} s")
        for role, path in (
            ("finance", "/console/charges?from=2026-11-01&to=2026-11-30"),
            ("finance", "/console/charges.csv?from=2026-11-01&to=2026-11-30"),
            ("finance", "/console/refunds?from=2026-11-01&to=2026-11-30"),
            ("operator", "/console/overview"),
        ):
            client = app.test_client()
            sign_in(client, runtime, clock, role)
            times, size = [], 0
            for _ in range(3):
                start = time.perf_counter()
                answer = client.get(path)
                size = len(answer.get_data())
                times.append(time.perf_counter() - start)
                assert answer.status_code == 200, answer.status_code
            print(f"{path:<60} {statistics.median(times):6.2f} s  {size / 1024:8.0f} KiB")


def sign_in(client, runtime, clock: FakeClock, role: str) -> None:  # type: ignore[no-untyped-def]
    email = f"{role}-{time.monotonic_ns()}@example.vn"
    settings = runtime.settings
    with runtime.session_factory.begin() as session:
        token = add_staff(
            session,
            email,
            role,
            secret_key=settings.secret_key,
            now=clock.now(),
            ttl=dt.timedelta(1),
        ).token
        staff = staff_for_enrolment(session, token, secret_key=settings.secret_key, now=clock.now())
        assert staff is not None and staff.totp_secret
        secret = staff.totp_secret
        complete_enrolment(
            staff, PASSWORD, PASSWORD, pyotp.TOTP(secret).at(clock.now()), clock.now()
        )
    clock.advance(seconds=30)
    page = client.get("/console/sign-in").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    code = pyotp.TOTP(secret).at(clock.now())
    form = {"csrf_token": token, "email": email, "password": PASSWORD, "code": code}
    assert client.post("/console/sign-in", data=form).status_code == 302


if __name__ == "__main__":
    main()
