"""/metrics behind a bearer token, counters that never tell whether a pair matched, abuse
signals, and the alert rules that read them."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from gateway.clock import FakeClock
from gateway.delivery.mail import FakeMailer
from gateway.settings import load_settings
from gateway.worker import Worker
from tests.conftest import base_environ, make_app
from tests.harness import Phones, add_account

TOKEN = "metrics-token-0123456789"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    environ["GATEWAY_METRICS_TOKEN"] = TOKEN
    environ["GATEWAY_APP_CREDENTIAL"] = "app-credential-0123456789"
    return environ


@pytest.mark.parametrize(
    "authorization", [None, "Bearer ", "Bearer wrong-token-0123456789", f"Basic {TOKEN}", TOKEN]
)
def test_metrics_without_the_token_is_401(client: FlaskClient, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert b"gateway_" not in response.data


def test_metrics_with_the_token(client: FlaskClient) -> None:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 200
    assert b"gateway_outbox_depth" in response.data


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "status"),
    [
        ("127.0.0.1", None, 200),  # a scraper on this machine, or `curl localhost:8000/metrics`
        ("::1", None, 200),
        ("203.0.113.7", None, 404),  # the server is not where it was meant to listen
        ("", None, 404),  # a Unix socket: whoever is behind the proxy in front of it
        ("127.0.0.1", "203.0.113.7", 404),  # the world through a proxy on this machine
        ("127.0.0.1", "127.0.0.1", 200),  # a scraper on this machine through the proxy
    ],
)
def test_without_a_token_only_this_machine_reads_metrics(
    tmp_path: Path, clock: FakeClock, peer: str, forwarded_for: str | None, status: int
) -> None:
    hops = "1" if forwarded_for else "0"
    app = make_app(load_settings({**base_environ(tmp_path), "GATEWAY_PROXY_HOPS": hops}), clock)
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}

    response = app.test_client().get(
        "/metrics", headers=headers, environ_base={"REMOTE_ADDR": peer}
    )
    app.extensions["gateway"].engine.dispose()

    assert response.status_code == status
    if status == 404:
        assert b"gateway_" not in response.data


def free_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"0.0.0.0:{probe.getsockname()[1]}"


def start(tmp_path: Path, command: list[str], **variables: str) -> subprocess.CompletedProcess[str]:
    """Start a server from an empty folder with no token; it must stop at once."""
    env = {name: os.environ[name] for name in ("PATH", "LANG", "TMPDIR") if name in os.environ}
    env.update(base_environ(tmp_path))
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=f"sqlite:///{tmp_path / 'gateway.db'}",
        GATEWAY_METRICS_TOKEN="",  # set and empty: no .env anywhere may add one
        **variables,
    )
    if command[0] == "serve":
        if "--bind" in command:  # the settings themselves are fine: a database to serve
            init = [sys.executable, "-m", "gateway", "init-db"]
            subprocess.run(init, env=env, cwd=tmp_path, check=True, capture_output=True, timeout=60)
        command = [sys.executable, "-m", "gateway", *command]
    return subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )


def test_serve_refuses_a_bind_beyond_loopback_without_a_token(tmp_path: Path) -> None:
    address = free_address()

    done = start(tmp_path, ["serve"], GATEWAY_BIND=address)

    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: configuration: GATEWAY_BIND={address} ")
    assert "GATEWAY_METRICS_TOKEN" in done.stderr and done.stderr.count("\n") == 1


def test_serve_refuses_bind_option_beyond_loopback_without_a_token(tmp_path: Path) -> None:
    address = free_address()

    done = start(tmp_path, ["serve", "--bind", address])

    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: configuration: --bind={address} ")
    assert "GATEWAY_METRICS_TOKEN" in done.stderr and done.stderr.count("\n") == 1


def test_plain_gunicorn_refuses_a_bind_beyond_loopback_without_a_token(tmp_path: Path) -> None:
    address = free_address()
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]

    done = start(tmp_path, [*gunicorn, "-b", address, "wsgi:app"])

    assert done.returncode == 1
    assert f"Error: configuration: bind={address} " in done.stderr
    assert "GATEWAY_METRICS_TOKEN" in done.stderr and "Traceback" not in done.stderr


def samples(client: FlaskClient) -> dict[str, float]:
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(True)
    found = {}
    for line in text.splitlines():
        match = re.match(r"^(gateway_\w+(?:\{[^}]*\})?) (\S+)$", line)
        if match and "duration" not in match[1] and "_created" not in match[1]:
            found[match[1]] = float(match[2])
    return found


@pytest.fixture
def owner_email(session: Session) -> str:
    """Register the account's owner with an email address; return the address."""
    add_account(session).email = "nguyen.van.a@example.vn"
    session.commit()
    return "nguyen.van.a@example.vn"


def test_a_matching_and_a_wrong_email_recovery_move_the_same_counters(
    client: FlaskClient, owner_email: str
) -> None:
    headers = {"X-App-Credential": "app-credential-0123456789"}

    def ask(email: str) -> dict[str, float]:
        before = samples(client)
        answer = client.post(
            "/api/v1/recovery/email", json={"bhxh": "0123456789", "email": email}, headers=headers
        )
        assert answer.status_code == 202
        after = samples(client)
        return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}

    matched = ask(owner_email)
    unmatched = ask("someone.else@example.vn")

    assert matched == unmatched


def counts(client: FlaskClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every counted sample of a scrape: counters, gauges and histogram counts, no timings."""
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(True)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith(("_sum", "_bucket", "_created"))
    }


def ask_and_work(
    client: FlaskClient, worker: Worker, email: str
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Ask for an email recovery, let the worker match it and mail; return what moved."""
    before = counts(client)
    answer = client.post(
        "/api/v1/recovery/email",
        json={"bhxh": "0123456789", "email": email},
        headers={"X-App-Credential": "app-credential-0123456789"},
    )
    assert answer.status_code == 202
    worker.drain()
    after = counts(client)
    return {
        key: value - before.get(key, 0)
        for key, value in after.items()
        if value != before.get(key, 0)
    }


BATCHES = "gateway_worker_batch_duration_seconds_count"


def test_once_the_worker_mailed_the_code_a_matching_pair_still_moves_the_same_counters(
    client: FlaskClient, owner_email: str, mail_worker: Worker, mailer: FakeMailer
) -> None:
    matched = ask_and_work(client, mail_worker, owner_email)
    assert len(mailer.to(owner_email)) == 1  # the code did go out
    unmatched = ask_and_work(client, mail_worker, "someone.else@example.vn")

    without_batches = {key: value for key, value in matched.items() if key[0] != BATCHES}
    assert without_batches == {key: v for key, v in unmatched.items() if key[0] != BATCHES}


def test_a_batch_that_only_mailed_the_code_is_not_timed(
    client: FlaskClient, owner_email: str, mail_worker: Worker, mailer: FakeMailer
) -> None:
    matched = ask_and_work(client, mail_worker, owner_email)

    assert {key for key in matched if key[0] == BATCHES} == set()


def test_abuse_signals_prefix_velocity_and_conversion(
    phones: Phones, session: Session, client: FlaskClient
) -> None:
    add_account(session)
    session.commit()
    prefix = 'gateway_messages_by_prefix_total{prefix="84912"}'
    before = samples(client).get(prefix, 0)  # counters live as long as the test process
    [reply] = phones.text("0912345678", "BH MK 0123456789")
    temporary = re.search(r"Mat khau: (\w+)\.", reply)
    assert temporary is not None

    issued = samples(client)
    login = client.post("/api/v1/auth/login", json={"bhxh": "0123456789", "password": temporary[1]})
    used = samples(client)

    assert login.status_code == 200
    assert issued[prefix] - before == 1
    assert issued["gateway_temp_passwords_issued_24h"] == 1
    assert issued["gateway_temp_passwords_used_24h"] == 0
    assert used["gateway_temp_passwords_used_24h"] == 1


def test_every_metric_an_alert_uses_exists() -> None:
    rules = (ROOT / "deploy/prometheus/alerts.yml").read_text()
    defined = (ROOT / "gateway/ops/metrics.py").read_text()

    used = set(re.findall(r"\b(gateway_\w+?)(?:_total)?\b", rules))

    assert used
    assert {name for name in used if f'"{name}"' not in defined} == set()


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_alert_rules() -> None:
    result = subprocess.run(
        ["promtool", "check", "rules", str(ROOT / "deploy/prometheus/alerts.yml")],
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stdout + result.stderr
