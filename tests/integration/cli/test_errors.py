"""Mistakes a newcomer makes read as one line saying what to run or fix: no traceback, no
folder or empty database created behind their back, and every error line ends its line."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, event, text

from gateway.cli import cli
from gateway.runtime import build_runtime
from gateway.settings import load_settings
from gateway.worker import backoff_delay
from tests.conftest import base_environ, fresh_database

PROJECT_ROOT = Path(__file__).resolve().parents[3]
Run = Callable[..., tuple[int, str]]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run ``gateway ARGS`` in-process from an empty folder (no .env) with ``env`` only."""
    monkeypatch.chdir(tmp_path)

    def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
        clean = {name: None for name in os.environ if name.startswith(("GATEWAY_", "CARRIER_"))}
        result = CliRunner().invoke(cli, list(args), env={**clean, "DATABASE_URL": None, **env})
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stderr

    return invoke


def one_line(output: str) -> str:
    assert output.endswith("\n"), output
    assert output.count("\n") == 1, output
    assert "Traceback" not in output
    return output


def sqlite_env(tmp_path: Path, path: Path) -> dict[str, str]:
    return {**base_environ(tmp_path), "DATABASE_URL": f"sqlite:///{path}"}


def test_a_database_never_set_up_says_run_init_db(run: Run, tmp_path: Path) -> None:
    env = sqlite_env(tmp_path, tmp_path / "empty.db")
    create_engine(env["DATABASE_URL"]).connect().close()  # an empty file, as sqlite3 leaves

    status, output = run(env, "worker", "--once")

    assert status == 1
    assert "has no tables yet: run `gateway init-db`" in one_line(output)


def test_a_mistyped_sqlite_path_creates_nothing(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "typo" / "gatway.db"
    env = sqlite_env(tmp_path, path)

    status, output = run(env, "switch", "sms-reset", "off", "--reason", "test")
    init_status, init_output = run(env, "init-db")

    assert status == 1 and f"no database at {path}: run `gateway init-db`" in one_line(output)
    assert init_status == 1
    assert f"folder {path.parent} does not exist" in one_line(init_output)
    assert not path.parent.exists()


def test_init_db_creates_the_database_in_an_existing_folder(run: Run, tmp_path: Path) -> None:
    env = sqlite_env(tmp_path, tmp_path / "new.db")

    status, _ = run(env, "init-db")
    again, output = run(env, "switch", "sms-reset", "off", "--reason", "test")

    assert (status, again, output) == (0, 0, "")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgres://vss:s3cret-pw@db.example/gateway", "write postgresql+psycopg://"),
        ("postgresql://vss:s3cret-pw@db.example/gateway", "write postgresql+psycopg://"),
        ("not a url", "DATABASE_URL is not a database URL; write sqlite:///"),
        ("oracle2://x@y/z", "unknown database kind 'oracle2'"),
    ],
)
def test_an_unusable_database_url_names_the_fix_and_hides_the_password(
    run: Run, tmp_path: Path, url: str, says: str
) -> None:
    status, output = run({**base_environ(tmp_path), "DATABASE_URL": url}, "init-db")

    assert status == 1 and says in one_line(output)
    assert "s3cret-pw" not in output


def test_an_unreachable_server_says_so(run: Run, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**base_environ(tmp_path), "DATABASE_URL": f"postgresql+psycopg://u@127.0.0.1:{port}/x"}

    status, output = run(env, "switch", "sms-reset", "off", "--reason", "test")

    assert status == 1
    assert f"cannot use the database at postgresql+psycopg://u@127.0.0.1:{port}/x" in one_line(
        output
    )


def test_a_missing_secret_with_no_env_file_here_says_there_is_none(
    run: Run, tmp_path: Path
) -> None:
    env = base_environ(tmp_path)
    del env["GATEWAY_SECRET_KEY"]

    status, output = run(env, "init-db")
    (tmp_path / ".env").write_text("# nothing useful\n")
    _, with_env_file = run(env, "init-db")

    assert status == 1
    assert f"GATEWAY_SECRET_KEY is required (there is no .env in {tmp_path}" in one_line(output)
    assert "there is no .env" not in one_line(with_env_file)


def test_a_port_in_use_points_to_bind(run: Run, tmp_path: Path) -> None:
    env = sqlite_env(tmp_path, tmp_path / "gateway.db")
    run(env, "init-db")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"

        status, output = run({**env, "GATEWAY_BIND": address}, "serve")

    assert status == 1
    assert f"{address} is already in use" in one_line(output)
    assert "--bind HOST:PORT or GATEWAY_BIND" in output


def test_tables_lost_mid_command_read_as_one_line(tmp_path: Path) -> None:
    env = {**os.environ, **sqlite_env(tmp_path, tmp_path / "gateway.db")}
    command = [sys.executable, "-m", "gateway"]
    subprocess.run([*command, "init-db"], env=env, cwd=tmp_path, check=True, capture_output=True)
    with create_engine(env["DATABASE_URL"]).begin() as connection:
        connection.execute(text("DROP TABLE switches"))

    done = subprocess.run(
        [*command, "switch", "sms-reset", "off", "--reason", "test"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
    )

    assert done.returncode == 1
    output = one_line(done.stderr.decode())
    assert "lacks this version's tables (no such table: switches): run `gateway init-db`" in output


def test_the_worker_backs_off_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with fresh_database(tmp_path) as url:  # no schema: every pass fails
        env = {
            **base_environ(tmp_path),
            "DATABASE_URL": url,
            "GATEWAY_WORKER_POLL_INTERVAL": "0.05",
        }
        runtime = build_runtime(load_settings(env))
        passes: list[object] = []
        event.listen(runtime.engine, "checkout", lambda *_: passes.append(1))
        job = runtime.worker()

        stop = threading.Event()
        thread = threading.Thread(target=job.run, args=(stop,))
        with caplog.at_level(logging.INFO, logger="gateway.worker"):
            thread.start()
            time.sleep(1.5)
            stop.set()
            thread.join(10)
        runtime.engine.dispose()

    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1 and failures[0].exc_info is None
    assert "retrying with back-off" in failures[0].getMessage()
    assert "run `gateway init-db`" in failures[0].getMessage()
    # 0.05 s polls would make ~30 passes in 1.5 s in each of the worker's two loops (deciding,
    # sending); 0.1, 0.2, 0.4, 0.8 s back-off makes ~5 in each.
    assert 2 <= len(passes) <= 12


def test_back_off_doubles_up_to_a_minute() -> None:
    assert [backoff_delay(1.0, n) for n in (1, 2, 3, 6, 7, 50)] == [2, 4, 8, 60, 60, 60]


def test_a_schema_from_another_version_says_run_init_db(run: Run, tmp_path: Path) -> None:
    env = sqlite_env(tmp_path, tmp_path / "gateway.db")
    run(env, "init-db")
    with create_engine(env["DATABASE_URL"]).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '20200101_0001'"))

    status, output = run(env, "switch", "sms-reset", "off", "--reason", "test")

    assert status == 1
    assert "the database schema is at 20200101_0001, this code needs" in one_line(output)
    assert output.rstrip().endswith("run `gateway init-db`")
