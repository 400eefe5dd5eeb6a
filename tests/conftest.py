"""Fixtures shared by every test: settings as a plain mapping, a fake clock, a fake carrier."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from billing.base import Base
from gateway.app import create_app
from gateway.carriers.fake import FakeTransport
from gateway.carriers.signing import signed_headers
from gateway.clock import FakeClock
from gateway.db import create_schema
from gateway.delivery.mail import FakeMailer
from gateway.runtime import Runtime
from gateway.settings import Settings, load_settings
from gateway.worker import Worker
from tests.smtp_server import SmtpServer

SECRET_KEY = "test-secret-key-0123456789abcdef"
CARRIER_SECRETS = {"viettel": "viettel-secret-0123456789", "mobifone": "mobifone-secret-012345678"}


def shared_database_url() -> str | None:
    """Return the server database the suite runs on (TEST_DATABASE_URL), or None for SQLite."""
    return os.environ.get("TEST_DATABASE_URL") or None


@contextlib.contextmanager
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty database: a new SQLite file, or a new PostgreSQL database."""
    shared = shared_database_url()
    if shared is None:
        yield f"sqlite:///{tmp_path / f'fresh-{uuid.uuid4().hex[:8]}.db'}"
        return
    url = make_url(shared)
    name = f"gw_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_tables(engine: Engine) -> None:
    """Delete every row of every table (on a server database shared by the whole suite)."""
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session", autouse=True)
def _server_database_schema() -> None:
    """Rebuild the shared server database's schema once, so it matches today's models."""
    url = shared_database_url()
    if url is None:
        return
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    create_schema(engine)
    engine.dispose()


def base_environ(tmp_path: Path) -> dict[str, str]:
    """Return the settings every test starts from: two carriers and an SQLite file."""
    url = shared_database_url() or f"sqlite:///{tmp_path / 'gateway.db'}"
    env = {
        "DATABASE_URL": url,
        "GATEWAY_INSTANCE_DIR": str(tmp_path / "instance"),
        "GATEWAY_SECRET_KEY": SECRET_KEY,
        "GATEWAY_CARRIERS": ",".join(CARRIER_SECRETS),
        # Tests play many users from one address; tests/integration/ops/test_rate_limits.py
        # turns the per-client limits on.
        "GATEWAY_RATELIMIT_ENABLED": "false",
    }
    for name, secret in CARRIER_SECRETS.items():
        env[f"CARRIER_{name.upper()}_SECRET"] = secret
        env[f"CARRIER_{name.upper()}_MT_URL"] = f"http://127.0.0.1:9/{name}/mt"
    return env


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """The settings mapping; tests change it before asking for ``settings``."""
    return base_environ(tmp_path)


@pytest.fixture
def settings(environ: Mapping[str, str]) -> Settings:
    return load_settings(environ)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


_ENGINES: list[Engine] = []  # every app's engine, closed when its test ends


@pytest.fixture(autouse=True)
def _close_apps_engines() -> Iterator[None]:
    # An app a test builds for itself keeps pooled connections open; on PostgreSQL the garbage
    # collector would close them during some later test, with a warning that fails it.
    yield
    while _ENGINES:
        _ENGINES.pop().dispose()


def make_app(settings: Settings, clock: FakeClock) -> Flask:
    """Build the app on an empty schema (created, or emptied on a shared server database).

    Its engine is disposed when the test ends, whoever built it.
    """
    app = create_app(settings, clock=clock)
    runtime: Runtime = app.extensions["gateway"]
    _ENGINES.append(runtime.engine)
    create_schema(runtime.engine)
    if runtime.engine.dialect.name != "sqlite":
        empty_tables(runtime.engine)
    return app


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> Iterator[Flask]:
    app = make_app(settings, clock)
    yield app
    app.extensions["gateway"].engine.dispose()


@pytest.fixture
def runtime(app: Flask) -> Runtime:
    return app.extensions["gateway"]  # type: ignore[no-any-return]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def session(runtime: Runtime) -> Iterator[Session]:
    """A session for arranging and inspecting: each statement commits at once, so it never
    holds a lock the webhook and the worker need, and always reads their latest writes."""
    if runtime.engine.dialect.name == "sqlite":
        inspecting = runtime.engine.execution_options(sqlite_begin=None)
    else:
        inspecting = runtime.engine.execution_options(isolation_level="AUTOCOMMIT")
    with runtime.session_factory(bind=inspecting) as session:
        yield session


@pytest.fixture
def carriers() -> dict[str, FakeTransport]:
    return {name: FakeTransport() for name in CARRIER_SECRETS}


@pytest.fixture
def worker(runtime: Runtime, carriers: dict[str, FakeTransport]) -> Worker:
    return runtime.worker(carriers)


def signed_post(
    client: FlaskClient,
    path: str,
    payload: Any,
    *,
    secret: str,
    clock: FakeClock,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """POST a JSON payload signed the way carriers sign it."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    all_headers = {"Content-Type": "application/json", **signed_headers(secret, body, clock.now())}
    all_headers.update(headers or {})
    return client.post(path, data=body, headers=all_headers)


@pytest.fixture
def mailer() -> FakeMailer:
    """An in-memory mailbox standing in for the SMTP relay."""
    return FakeMailer()


@pytest.fixture
def mail_worker(runtime: Runtime, carriers: dict[str, FakeTransport], mailer: FakeMailer) -> Worker:
    """A worker that sends SMS to the fake carriers and emails to the fake mailbox."""
    return runtime.worker(carriers, mailer)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback that keeps what it receives."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
