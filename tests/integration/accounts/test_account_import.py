"""``gateway accounts import``: idempotent, line-numbered errors, the rest imported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.cli import cli
from gateway.models import Account, AccountState

HEADER = "bhxh,phone,email,approved_at,personal_id\n"
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(environ: dict[str, str], runtime: object) -> Run:
    """Run the CLI against the test database (the ``runtime`` fixture created the schema)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, list(args), env=environ, obj={})
        return result.exit_code, result.stdout, result.stderr

    return invoke


def write(tmp_path: Path, text: str, name: str = "accounts.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def accounts(session: Session) -> dict[str, Account]:
    session.expire_all()
    return {a.bhxh: a for a in session.scalars(select(Account))}


def test_imports_normalises_and_is_idempotent(run: Run, tmp_path: Path, session: Session) -> None:
    path = write(
        tmp_path,
        HEADER
        + "0123456789,0912 345 678,An@Example.VN,2021-10-01,001099012345\n"
        + "0100000001,+84 1629 123 456,,,\n",
    )

    assert run("accounts", "import", path) == (
        0,
        "created 2, updated 0, unchanged 0, skipped 0\n",
        "",
    )
    assert run("accounts", "import", path)[1] == "created 0, updated 0, unchanged 2, skipped 0\n"

    found = accounts(session)
    first, second = found["0123456789"], found["0100000001"]
    assert (first.phone, first.email, first.personal_id) == (
        "84912345678",
        "An@example.vn",
        "001099012345",
    )
    assert first.state is AccountState.ACTIVE
    assert first.approved_at == dt.datetime(2021, 9, 30, 17, 0, tzinfo=dt.UTC)  # local midnight
    assert (second.phone, second.state, second.email) == ("84329123456", AccountState.PENDING, None)


def test_reimport_updates_in_place(run: Run, tmp_path: Path, session: Session) -> None:
    run("accounts", "import", write(tmp_path, HEADER + "0123456789,0912345678,,,\n"))
    before = accounts(session)["0123456789"].id

    code, out, _ = run(
        "accounts", "import", write(tmp_path, HEADER + "0123456789,0987654321,,2024-01-02,\n")
    )

    assert (code, out) == (0, "created 0, updated 1, unchanged 0, skipped 0\n")
    account = accounts(session)["0123456789"]
    assert (account.id, account.phone, account.state) == (
        before,
        "84987654321",
        AccountState.ACTIVE,
    )


def test_bad_rows_are_reported_by_line_and_the_rest_imported(
    run: Run, tmp_path: Path, session: Session
) -> None:
    path = write(
        tmp_path,
        HEADER
        + "123456789,0912345678,,,\n"  # line 2: leading zero lost
        + "0123456789,0912345678,,,\n"  # line 3: fine
        + "0123456780,02438123456,,,\n"  # line 4: landline
        + "0123456781,0912345678,not-an-email,,\n"  # line 5
        + "0123456782,0912345678,,31/12/2021,\n"  # line 6
        + "0123456789,0912345678,,,\n"  # line 7: repeats line 3
        + "0123456783,0912345678,,,12345\n"  # line 8
        + "0123456784,0912345678,,,,extra\n"  # line 9
        + "0123456785,0912345678,,,\n",  # line 10: fine
    )

    code, out, err = run("accounts", "import", path)

    assert code == 1
    assert out == "created 2, updated 0, unchanged 0, skipped 7\n"
    assert err.splitlines() == [
        f"{path}:2: bhxh must be 10 digits (a leading zero lost in a spreadsheet?)",
        f"{path}:4: phone: landline number, not a mobile",
        f"{path}:5: email is not a valid address",
        f"{path}:6: approved_at must be a date (YYYY-MM-DD) or ISO 8601 time",
        f"{path}:7: bhxh 0123456789 already appears on line 3",
        f"{path}:8: personal_id must be 12 digits",
        f"{path}:9: more fields than the header has columns",
    ]
    assert sorted(accounts(session)) == ["0123456785", "0123456789"]


def test_personal_id_of_another_account_is_refused(
    run: Run, tmp_path: Path, session: Session
) -> None:
    run("accounts", "import", write(tmp_path, HEADER + "0123456789,0912345678,,,001099012345\n"))

    code, _, err = run(
        "accounts", "import", write(tmp_path, HEADER + "0999999999,0912345678,,,001099012345\n")
    )

    assert code == 1
    assert "personal_id belongs to another account" in err
    assert sorted(accounts(session)) == ["0123456789"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"phone,email\n0912345678,a@b.vn\n", "the header lacks column(s): bhxh"),
        (b"bhxh,phone\n0123456789,0912345678\n\xff\xfe\n", "not UTF-8"),
        (b"", "the header lacks column(s): bhxh, phone"),
    ],
)
def test_unreadable_files_import_nothing(
    run: Run, tmp_path: Path, session: Session, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)

    code, _, err = run("accounts", "import", str(path))

    assert code == 1
    assert message in err
    assert "nothing was imported" in err
    assert accounts(session) == {}


def test_excel_bom_and_crlf_are_fine(run: Run, tmp_path: Path, session: Session) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffbhxh,phone\r\n0123456789,0912345678\r\n".encode())

    assert run("accounts", "import", str(path))[0] == 0
    assert list(accounts(session)) == ["0123456789"]
