"""Files holding personal data or secrets are readable by the gateway's user only."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from dotenv import dotenv_values

from gateway.cli import cli
from gateway.clock import FakeClock
from gateway.runtime import Runtime
from gateway.settings import load_settings
from tests.conftest import base_environ, make_app, shared_database_url

ROOT = Path(__file__).resolve().parents[3]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(shared_database_url() is not None, reason="an SQLite file only")
def test_a_new_sqlite_database_and_its_folder_are_private(tmp_path: Path) -> None:
    env = base_environ(tmp_path)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'new' / 'gateway.db'}"
    app = make_app(load_settings(env), FakeClock())
    app.extensions["gateway"].engine.dispose()

    assert mode(tmp_path / "new") == 0o700
    assert mode(tmp_path / "new" / "gateway.db") == 0o600
    for journal in (tmp_path / "new").glob("gateway.db-*"):  # -wal, -shm
        assert mode(journal) & 0o077 == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_are_private(tmp_path: Path, runtime: Runtime, fmt: str) -> None:
    output = tmp_path / f"charges.{fmt}"
    args = ["charges", "export", "--from", "2026-11-01", "--to", "2026-11-30"]

    result = CliRunner().invoke(
        cli, [*args, "--format", fmt, "--output", str(output)], obj={"runtime": runtime}
    )

    assert result.exit_code == 0, result.output
    assert mode(output) == 0o600


def test_the_gateway_command_creates_everything_private(tmp_path: Path) -> None:
    script = "import os; from gateway.cli import main; import sys; sys.argv=['gateway','--help']\n"
    script += "try:\n    main()\nexcept SystemExit:\n    pass\nprint(oct(os.umask(0)))"

    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=True
    )

    assert result.stdout.strip().endswith("0o77")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_writes_a_private_env_with_fresh_secrets(tmp_path: Path) -> None:
    # A stand-in virtualenv, newer than setup.cfg, so make does not rebuild one.
    for name in (".env.example", "setup.cfg", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
        os.utime(tmp_path / name, (0, 0))
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "gateway").touch()
    (tmp_path / "venv" / "bin" / "python").symlink_to(sys.executable)

    subprocess.run(
        ["make", "-s", "-f", str(ROOT / "Makefile"), "VENV=venv", ".env"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )

    env = (tmp_path / ".env").read_text()
    assert mode(tmp_path / ".env") == 0o600
    assert "GATEWAY_SECRET_KEY=\n" not in env
    # /metrics is private from the first `make run`, whatever GATEWAY_BIND becomes later.
    token = re.search(r"^GATEWAY_METRICS_TOKEN=([0-9a-f]{64})$", env, re.M)
    assert token is not None, "make wrote no metrics token"
    values = {name: value or "" for name, value in dotenv_values(tmp_path / ".env").items()}
    assert load_settings(values).metrics_token == token[1]
