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
        + "0123456782,0912345678,,12/31/2021,\n"  # line 6: month first, as in the US
        + "0123456789,0912345678,,,\n"  # line 7: repeats line 3
        + "0123456783,0912345678,,,12345\n"  # line 8
        + "0123456784,0912345678,,,,extra\n"  # line 9
        + "0123456785,0912345678,,,\n",  # line 10: fine
    )

    code, out, err = run("accounts", "import", path)

    assert code == 1
    assert out == "created 2, updated 0, unchanged 0, skipped 7\n"
    assert err.splitlines() == [
        f"{path}:2: bhxh 123456789: must be 10 digits (a leading zero lost in a spreadsheet?)",
        f"{path}:4: phone 02438123456: landline number, not a mobile",
        f"{path}:5: email not-an-email: not a valid address",
        f"{path}:6: approved_at 12/31/2021: not a date (YYYY-MM-DD, dd/mm/yyyy or ISO 8601)",
        f"{path}:7: bhxh 0123456789 already appears on line 3",
        f"{path}:8: personal_id 12345: must be 12 digits",
        f"{path}:9: 6 cells where the header has 5 columns",
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
        (b"", "the file is empty"),
        (b"\n\n", "the file is empty"),
        (b"bhxh,phone,phone\n0123456789,0912345678,0912345678\n", "named twice: phone"),
        (
            "bhxh,phone,email\n0123456789,0912345678,đương@ví.vn\n".encode("cp1258"),
            "not UTF-8 text (Windows-1258 or Latin-1?): in Excel use File > Save As > "
            "'CSV UTF-8 (Comma delimited)'",
        ),
        (
            "bhxh,phone,email\n0123456789,0912345678,josé@a.es\n".encode("latin-1"),
            "not UTF-8 text",
        ),
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


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("comma", "bhxh,phone,approved_at\n0123456789,0912345678,2021-10-01\n"),
        # Excel with Vietnamese regional settings: ";" and a byte order mark, CRLF.
        ("excel-vi", "\ufeffbhxh;phone;approved_at\r\n0123456789;0912 345 678;01/10/2021\r\n"),
        ("tab", "BHXH\tPhone\tApproved_At\n0123456789\t+84912345678\t1/10/2021\n"),
        ("quoted", '"bhxh";"phone";"approved_at"\n"0123456789";"0912.345.678";"01/10/2021"\n'),
    ],
)
def test_separators_and_date_forms_offices_use(
    run: Run, tmp_path: Path, session: Session, name: str, content: str
) -> None:
    path = tmp_path / f"{name}.csv"
    path.write_bytes(content.encode())

    assert run("accounts", "import", str(path)) == (
        0,
        "created 1, updated 0, unchanged 0, skipped 0\n",
        "",
    )
    account = accounts(session)["0123456789"]
    assert (account.phone, account.state) == ("84912345678", AccountState.ACTIVE)
    assert account.approved_at == dt.datetime(2021, 9, 30, 17, 0, tzinfo=dt.UTC)  # local midnight


def test_excel_unicode_text_is_utf16_with_tabs(run: Run, tmp_path: Path, session: Session) -> None:
    path = tmp_path / "unicode.txt"
    path.write_bytes(
        "bhxh\tphone\temail\r\n0123456789\t0912345678\tđương@ví.vn\r\n".encode("utf-16")
    )

    assert run("accounts", "import", str(path))[0] == 0
    assert accounts(session)["0123456789"].email == "đương@ví.vn"


def test_a_day_month_year_time_is_vietnam_time(run: Run, tmp_path: Path, session: Session) -> None:
    path = write(tmp_path, "bhxh;phone;approved_at\n0123456789;0912345678;25/12/2021 08:30\n")

    assert run("accounts", "import", path)[0] == 0
    assert accounts(session)["0123456789"].approved_at == dt.datetime(
        2021, 12, 25, 1, 30, tzinfo=dt.UTC
    )


def test_a_short_row_is_skipped_never_a_pending_account(
    run: Run, tmp_path: Path, session: Session
) -> None:
    path = write(
        tmp_path,
        "bhxh,phone,email,approved_at\n"
        "0123456789,0912345678\n"  # line 2: two cells; the approval is lost, not "pending"
        "\n"  # line 3: a blank line is no row
        "0100000001,0987654321,,2021-10-01\n",
    )

    code, out, err = run("accounts", "import", path)

    assert code == 1
    assert out == "created 1, updated 0, unchanged 0, skipped 1\n"
    assert err == f"{path}:2: only 2 cells where the header has 4 columns\n"
    assert list(accounts(session)) == ["0100000001"]


def test_an_empty_cell_is_named(run: Run, tmp_path: Path, session: Session) -> None:
    path = write(tmp_path, "bhxh,phone\n0123456789,\n,0912345678\n")

    code, _, err = run("accounts", "import", path)

    assert code == 1
    assert err.splitlines() == [f"{path}:2: phone is empty", f"{path}:3: bhxh is empty"]
    assert accounts(session) == {}


def test_help_lists_exactly_the_columns(run: Run) -> None:
    from gateway.accounts.account_csv import OPTIONAL_COLUMNS, REQUIRED_COLUMNS

    _, out, _ = run("accounts", "import", "--help")
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()

    flat = " ".join(out.split())
    assert f"Required columns: {', '.join(REQUIRED_COLUMNS)}." in flat
    assert f"Optional: {', '.join(OPTIONAL_COLUMNS)}." in flat
    assert f"required columns `{'`, `'.join(REQUIRED_COLUMNS)}`" in readme


def test_extra_columns_of_an_hr_export_are_ignored_with_a_warning(
    run: Run, tmp_path: Path, session: Session
) -> None:
    content = "Họ tên;bhxh;phone;ghi_chú\nNguyễn Văn A;0123456789;0912345678;x\n"

    code, out, err = run("accounts", "import", write(tmp_path, content))

    assert code == 0, err
    assert "warning: ignored column(s) 'họ tên', 'ghi_chú'" in err
    assert "created 1" in out and sorted(accounts(session)) == ["0123456789"]
