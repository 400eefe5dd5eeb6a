"""``gateway --help`` answers at once: no command loads the database or web stack for its help."""

from __future__ import annotations

import subprocess
import sys

from billing.reconcile import DEFAULT_COLUMNS
from gateway.cli.charge_reconcile import DEFAULT_COLUMNS as CLI_COLUMNS
from gateway.cli.operations import SWITCHES
from gateway.ops.switches import KNOWN

HEAVY = (
    "alembic",
    "argon2",
    "flask",
    "gunicorn",
    "openpyxl",
    "prometheus_client",
    "requests",
    "sqlalchemy",
    "werkzeug",
    "xlsxwriter",
)
EVERY_HELP = f"""
import sys
from click.testing import CliRunner
from gateway.cli import cli

runner = CliRunner()
assert runner.invoke(cli, ["--help"]).exit_code == 0
for name, command in cli.commands.items():
    assert runner.invoke(cli, [name, "--help"]).exit_code == 0, name
    for sub in getattr(command, "commands", {{}}):
        assert runner.invoke(cli, [name, sub, "--help"]).exit_code == 0, (name, sub)
print(" ".join(sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))))
"""


def test_no_help_text_loads_a_heavy_library() -> None:
    # A fresh interpreter: this test process has loaded everything already.
    result = subprocess.run(
        [sys.executable, "-c", EVERY_HELP], capture_output=True, text=True, check=True
    )

    assert result.stdout.split() == []


def test_the_check_sees_a_heavy_import() -> None:
    # The same probe, on a module that does load SQLAlchemy: the test above can fail.
    code = "import sys; import gateway.schema; print('sqlalchemy' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "True"


def test_the_choices_spelt_out_for_help_match_their_source() -> None:
    assert CLI_COLUMNS == DEFAULT_COLUMNS
    assert SWITCHES == KNOWN
