"""One export and one reconciliation for every door; dates as Vietnamese write them on the CLI."""

from __future__ import annotations

import datetime as dt
import functools
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from gateway.finance.errors import FinanceRefused
from gateway.finance.exports import ExportQuery, prepare_export
from gateway.finance.reconciliation import ReconcileQuery, reconcile_file
from gateway.runtime import Runtime
from tests.harness import Phones, add_account
from tests.integration.finance.test_finance_cli import invoke

Run = Callable[..., tuple[int, bytes, str]]
TOKEN = "finance-token-0123456789abcdef"
NOV_1, NOV_30 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    return {**environ, "FINANCE_API_TOKEN": TOKEN}


@pytest.fixture
def run(environ: dict[str, str], runtime: Runtime) -> Run:
    return functools.partial(invoke, environ, runtime, binary=True)


@pytest.fixture
def charged(phones: Phones, session: Session) -> None:
    add_account(session, "0123456789", "0912345678")
    phones.text("0912345678", "BH MK 0123456789")
    phones.text("0987654321", "=cmd", carrier="mobifone")


@pytest.mark.usefixtures("charged")
def test_the_api_and_the_cli_send_the_same_bytes(run: Run, client: FlaskClient) -> None:
    code, cli_bytes, _ = run("charges", "export", "--from", "2026-11-01", "--to", "2026-11-30")
    answer = client.get(
        "/api/v1/finance/charges.csv?from=2026-11-01&to=2026-11-30",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )

    assert (code, answer.status_code) == (0, 200)
    assert answer.get_data() == cli_bytes
    assert cli_bytes.count(b"\r\n") == 3  # the header and two charges


@pytest.mark.usefixtures("charged")
@pytest.mark.parametrize("command", [("export",), ("summary", "--csv")])
def test_day_first_dates_mean_the_same_days(run: Run, command: tuple[str, ...]) -> None:
    iso = run("charges", *command, "--from", "2026-11-01", "--to", "2026-11-30")
    day_first = run("charges", *command, "--from", "01/11/2026", "--to", "30/11/2026")

    assert iso[0] == 0
    assert day_first[:2] == iso[:2]


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        (
            "31/11/2026",
            "2026-12-01",
            "--from: '31/11/2026' is not a date in the form YYYY-MM-DD or",
        ),
        ("2026-11-01", "11/30/2026", "--to: '11/30/2026' is not a date in the form YYYY-MM-DD or"),
        ("30/11/2026", "01/11/2026", "--from 2026-11-30 is after --to 2026-11-01"),
    ],
)
def test_bad_day_first_dates_exit_2(run: Run, first: str, last: str, message: str) -> None:
    code, _, err = run("charges", "refund", "--from", first, "--to", last)

    assert code == 2
    assert message in err


def test_the_export_use_case_refuses_by_code(runtime: Runtime) -> None:
    with pytest.raises(FinanceRefused) as reversed_days:
        prepare_export(runtime, ExportQuery(NOV_30, NOV_1))
    with pytest.raises(FinanceRefused) as unknown:
        prepare_export(runtime, ExportQuery(NOV_1, NOV_30, carrier="vinaphone"))

    assert reversed_days.value.code == "days_reversed"
    assert (unknown.value.code, unknown.value.reason) == (
        "unknown_carrier",
        "unknown carrier 'vinaphone'",
    )


def test_the_export_use_case_names_its_file(runtime: Runtime) -> None:
    export = prepare_export(runtime, ExportQuery(NOV_1, NOV_30, carrier="viettel"))

    assert export.file_name("xlsx") == "charges-2026-11-01-2026-11-30.xlsx"
    assert export.period.describe() == "2026-11-01 .. 2026-11-30 (Asia/Ho_Chi_Minh)"
    assert "".join(export.csv_chunks(bom=False)).startswith("entry_id,kind,")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (ReconcileQuery("vinaphone", b"id,phone,time,amount\r\n"), "unknown_carrier"),
        (ReconcileQuery("viettel", b"id,phone\r\n"), "bad_file"),
        (ReconcileQuery("viettel", b"id,phone,time,amount\r\n"), "bad_file"),  # no rows
        (ReconcileQuery("viettel", b"x", columns="id"), "bad_file"),
        (
            ReconcileQuery(
                "viettel",
                b"id,phone,time,amount\r\nA1,0912345678,2026-11-02 10:00:00,1000\r\n",
                first=NOV_30,
                last=NOV_1,
            ),
            "days_reversed",
        ),
    ],
)
def test_the_reconciliation_use_case_refuses_by_code(
    runtime: Runtime, query: ReconcileQuery, code: str
) -> None:
    with pytest.raises(FinanceRefused) as refused:
        reconcile_file(runtime, query)

    assert refused.value.code == code


def test_a_reconciliation_covers_the_files_days(runtime: Runtime) -> None:
    data = b"id,phone,time,amount\r\nA1,0912345678,02/11/2026 10:00:00,1000\r\n"

    result = reconcile_file(runtime, ReconcileQuery("viettel", data))

    assert result.period.describe() == "2026-11-02 .. 2026-11-02 (Asia/Ho_Chi_Minh)"
    assert len(result.report.differences) == 1  # missing on our side


# What a whole Runtime imports and a finance command never uses (issue 26: 40 MiB of the
# export's peak memory).
NOT_FOR_FINANCE = ("argon2", "zxcvbn", "requests", "dkim", "PIL", "captcha", "flask")
PROBE = f"""
import sys
from gateway.cli import main
sys.argv = ["gateway", "charges", "summary", "--from", "01/11/2026", "--to", "30/11/2026"]
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
loaded = {{name.split(".")[0] for name in sys.modules}}
print(" ".join(sorted(loaded & set({NOT_FOR_FINANCE!r}))))
"""


@pytest.mark.usefixtures("runtime")  # its database, migrated
def test_a_finance_command_does_not_build_the_whole_runtime(
    environ: dict[str, str], tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )

    assert "total" in result.stdout  # the summary ran
    assert not set(result.stdout.split()) & set(NOT_FOR_FINANCE)
