"""/healthz says the process lives; /readyz says the database answers and is migrated."""

from __future__ import annotations

from pathlib import Path

from gateway import schema
from gateway.app import create_app
from gateway.clock import FakeClock
from gateway.settings import load_settings
from tests.conftest import base_environ, fresh_database


def test_readyz_follows_the_migrations(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        app = create_app(load_settings({**base_environ(tmp_path), "DATABASE_URL": url}))
        client = app.test_client()
        engine = app.extensions["gateway"].engine

        behind = client.get("/readyz")
        schema.upgrade(engine)
        ready = client.get("/readyz")
        engine.dispose()

    assert behind.status_code == 503
    assert behind.get_json() == {"status": "unavailable", "database": "ok", "migrations": "behind"}
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "database": "ok", "migrations": "current"}


def test_readyz_fails_when_the_database_is_unreachable(tmp_path: Path) -> None:
    environ = {
        **base_environ(tmp_path),
        # Port 9 (discard) on loopback: nothing answers; the connect fails at once.
        "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/nothing?connect_timeout=2",
    }
    app = create_app(load_settings(environ), clock=FakeClock())

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}
    assert app.test_client().get("/healthz").status_code == 200
