"""`.ci/setup-postgres.sh` gives each run its own cluster: a new temporary data directory and
a free port, so two checkouts on one machine never stop each other's database."""

from __future__ import annotations

import glob
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "setup-postgres.sh"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        reason="PostgreSQL is not installed (bash .ci/setup-postgres.sh installs it)",
    ),
]


def start() -> tuple[str, str]:
    """Start a cluster with the script's defaults; return its URL and data directory."""
    env = {k: v for k, v in os.environ.items() if k not in ("PGDATA", "PGPORT")}
    done = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, check=True
    )
    [data] = [w for w in done.stderr.split() if w.startswith("PGDATA=")]
    return done.stdout.strip(), data.removeprefix("PGDATA=")


def stop(data: str) -> None:
    subprocess.run(
        ["bash", str(SCRIPT), "--stop"], env={**os.environ, "PGDATA": data}, capture_output=True
    )


def answers(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT 1")).scalar() == 1
    except Exception:
        return False
    finally:
        engine.dispose()


def test_two_runs_get_their_own_cluster_and_stopping_one_leaves_the_other() -> None:
    first_url, first_data = start()
    try:
        second_url, second_data = start()
        try:
            assert first_url != second_url and first_data != second_data
            assert answers(first_url) and answers(second_url)

            stop(first_data)

            assert not answers(first_url) and not Path(first_data).exists()
            assert answers(second_url)
        finally:
            stop(second_data)
    finally:
        stop(first_data)
    assert not Path(second_data).exists()
