"""Finance from the command line: the SMS path, then refunds, export, summary and reconciliation."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.ledger import EntryKind, LedgerEntry
from billing.outcomes import Outcome
from gateway.carriers.fake import FakeTransport
from gateway.cli import cli
from gateway.clock import FakeClock
from gateway.errors import PermanentSendError
from gateway.runtime import Runtime
from tests.harness import Phones, add_account

Run = Callable[..., tuple[int, str, str]]
Month = dict[Outcome | str, LedgerEntry]  # what the ``month`` fixture charged, by outcome
MONTH = ("--from", "2026-11-01", "--to", "2026-11-30")


def invoke(
    environ: dict[str, str], runtime: Runtime, *args: str, binary: bool = False
) -> tuple[int, Any, str]:
    """Run the CLI on the test's runtime (its database and its fake clock).

    Return its exit code, output and errors; the output as bytes if ``binary`` (click's text
    turns CRLF into LF).
    """
    result = CliRunner().invoke(cli, list(args), env=environ, obj={"runtime": runtime})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout_bytes if binary else result.stdout, result.stderr


@pytest.fixture
def run(environ: dict[str, str], runtime: Runtime) -> Run:
    return functools.partial(invoke, environ, runtime)


class Boom(RuntimeError):
    pass


@pytest.fixture
def month(
    phones: Phones,
    session: Session,
    carriers: dict[str, FakeTransport],
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Month:
    """Text the gateway a day's worth of cases on Nov 2 (local) and one on Nov 3."""
    add_account(session, "0123456789", "0912345678")
    phones.text("0912345678", "BH MK 0123456789")  # reset_sent
    phones.text("0912345678", "xin chao")  # wrong_syntax
    with monkeypatch.context() as patch:

        def broken(*args: object, **kwargs: object) -> None:
            raise Boom("database went away")

        patch.setattr("gateway.sms.batch.find_accounts", broken)  # the batch, then one by one
        phones.text("0933333333", "BH MK 0123456789")  # system_error
    carriers["viettel"].fail_next(PermanentSendError("400 unknown subscriber"))
    phones.text("0944444444", "BH MK 0999999999")  # not_matched, reply failed
    phones.text("0987654321", "BH MK 0123456789", carrier="mobifone")  # not_matched
    clock.advance(hours=14)  # 2026-11-02T17:00Z: local midnight, Nov 3
    phones.text("0912345678", "BH MK")  # wrong_syntax, next local day
    entries = session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).all()
    assert [e.outcome for e in entries] == [
        Outcome.RESET_SENT,
        Outcome.WRONG_SYNTAX,
        Outcome.SYSTEM_ERROR,
        Outcome.NOT_MATCHED,
        Outcome.NOT_MATCHED,
        Outcome.WRONG_SYNTAX,
    ]
    return {
        Outcome.RESET_SENT: entries[0],
        Outcome.WRONG_SYNTAX: entries[1],
        Outcome.SYSTEM_ERROR: entries[2],
        "reply_failed": entries[3],
        "mobifone": entries[4],
        "next_day": entries[5],
    }


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_refund_dry_run_then_refund_then_nothing_left(
    run: Run, month: dict[Outcome | str, LedgerEntry], session: Session
) -> None:
    error, failed = month[Outcome.SYSTEM_ERROR], month["reply_failed"]

    code, out, _ = run("charges", "refund", *MONTH, "--outcome", "system_error", "--dry-run")
    assert code == 0
    assert out.splitlines() == [
        f"message {error.message_id} viettel {error.carrier_message_id} 8493****333 "
        "system_error 1000 VND",
        "1 refundable charges, 1000 VND",
    ]
    assert session.scalar(select(func.count()).where(LedgerEntry.kind == EntryKind.REFUND)) == 0

    code, out, err = run("charges", "refund", *MONTH)
    assert code == 1 and out.splitlines()[-1] == "2 refundable charges, 2000 VND"
    assert err == (
        "Error: nothing refunded yet: run again with --yes to refund these 2 charges (2000 VND)\n"
    )
    assert session.scalar(select(func.count()).where(LedgerEntry.kind == EntryKind.REFUND)) == 0

    code, out, _ = run("charges", "refund", *MONTH, "--yes")
    assert (code, out.splitlines()[-1]) == (0, "refunded 2 charges, 2000 VND")
    assert f"message {failed.message_id} viettel" in out and "(reply failed)" in out

    code, out, _ = run("charges", "refund", *MONTH, "--yes")
    assert (code, out) == (
        0,
        "nothing to refund: every refundable charge of 2026-11-01 .. 2026-11-30 "
        "(Asia/Ho_Chi_Minh) is refunded\n",
    )
    code, _, err = run("charges", "refund", "--message-id", str(error.message_id))
    assert code == 1
    assert f"message {error.message_id} was already refunded: entry" in err


def test_refund_one_message_by_carrier_id_and_bad_requests(
    run: Run, month: dict[Outcome | str, LedgerEntry]
) -> None:
    served = month[Outcome.RESET_SENT]
    by_carrier = ("--carrier", "viettel", "--carrier-message-id", served.carrier_message_id)

    code, _, err = run("charges", "refund", *by_carrier)
    assert code == 1 and "(reset_sent) is not refundable" in err
    code, _, err = run("charges", "refund", *by_carrier, "--force")
    assert code == 2 and "--force needs --reason" in err
    code, _, err = run("charges", "refund", *by_carrier, "--force", "--reason", "  ")
    assert code == 2 and "--force needs --reason" in err
    code, out, _ = run("charges", "refund", *by_carrier, "--force", "--reason", "khieu nai 12")
    assert (code, out) == (0, "refunded 1 charges, 1000 VND\n")

    assert run("charges", "refund", "--message-id", "424242")[2].endswith(
        "message 424242 has no charge in the ledger; there is nothing to refund\n"
    )
    assert run("charges", "refund")[0] == 2
    assert run("charges", "refund", "--message-id", "1", "--from", "2026-11-01")[0] == 2
    code, _, err = run("charges", "refund", *MONTH, "--carrier", "vinaphone")
    assert (code, "unknown carrier 'vinaphone'" in err) == (2, True)


def test_export_rows_are_sorted_masked_and_sum_to_the_summary(
    run: Run, month: dict[Outcome | str, LedgerEntry], tmp_path: Path
) -> None:
    run("charges", "refund", *MONTH, "--yes")
    output = tmp_path / "charges.csv"

    code, _, err = run("charges", "export", *MONTH, "--output", str(output))

    assert (code, err) == (0, f"8 entries written to {output}\n")
    raw = output.read_bytes()
    # Excel opens a CSV with the UTF-8 byte order mark as UTF-8: Vietnamese shows intact.
    assert raw.startswith(b"\xef\xbb\xbfentry_id,kind,time_utc,local_time,carrier,")
    rows = read_csv(raw.decode("utf-8"))
    assert [r["time_utc"] for r in rows] == sorted(r["time_utc"] for r in rows)
    assert {r["phone"] for r in rows} == {
        "8491****678",
        "8493****333",
        "8494****444",
        "8498****321",
    }
    assert [r["local_time"][:10] for r in rows].count("2026-11-03") == 3  # 1 charge, 2 refunds
    refundable = {r["message_id"]: r["refundable"] for r in rows if r["kind"] == "charge"}
    assert refundable[str(month[Outcome.SYSTEM_ERROR].message_id)] == "yes"
    assert refundable[str(month["reply_failed"].message_id)] == "yes"
    assert refundable[str(month[Outcome.RESET_SENT].message_id)] == "no"

    code, out, _ = run("charges", "summary", *MONTH, "--csv")
    summary = read_csv(out)
    assert code == 0
    assert summary[-1] == {
        "local_date": "total",
        "carrier": "",
        "service": "",
        "outcome": "",
        "messages": "6",
        "charged_vnd": "6000",
        "refunded_vnd": "2000",
        "net_vnd": "4000",
    }
    assert sum(int(r["amount_vnd"]) for r in rows) == int(summary[-1]["net_vnd"])


def test_export_without_a_bom_for_tools_that_want_plain_utf8(
    run: Run, month: dict[Outcome | str, LedgerEntry]
) -> None:
    code, out, _ = run("charges", "export", *MONTH, "--no-bom")

    assert code == 0
    assert out.startswith("entry_id,kind,")
    assert len(read_csv(out)) == 6


def test_export_refuses_bad_input_and_writes_nothing(run: Run, tmp_path: Path) -> None:
    output = tmp_path / "out.csv"
    cases = [
        (("--from", "2026-11-31", "--to", "2026-12-01"), "--from: '2026-11-31' is not a date"),
        (("--from", "2026-11-30", "--to", "2026-11-01"), "--from 2026-11-30 is after --to"),
        ((*MONTH, "--carrier", "vinaphone"), "unknown carrier 'vinaphone'"),
        ((*MONTH, "--format", "xlsx"), "--format xlsx needs --output FILE"),
    ]
    for args, message in cases:
        target = () if "xlsx" in args else ("--output", str(output))
        code, _, err = run("charges", "export", *args, *target)
        assert code == 2, args
        assert message in err
    assert not output.exists()
    assert list(tmp_path.glob(".out.csv.*")) == []


def test_unmasked_export_is_logged_without_the_numbers(
    run: Run, month: dict[Outcome | str, LedgerEntry], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")

    code, out, _ = run("charges", "export", *MONTH, "--unmasked")

    assert code == 0
    assert {r["phone"] for r in read_csv(out)} >= {"84912345678", "84987654321"}
    assert "unmasked charges export of 2026-11-01 .. 2026-11-30" in caplog.text
    assert "84912345678" not in caplog.text and "0912345678" not in caplog.text


def test_xlsx_export_has_the_same_rows(
    run: Run, month: dict[Outcome | str, LedgerEntry], tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    output = tmp_path / "charges.xlsx"
    assert run("charges", "export", *MONTH, "--format", "xlsx", "--output", str(output))[0] == 0

    rows = list(load_workbook(output).active.values)  # not read-only: that keeps the file open
    assert len(rows) == 7 and rows[0][0] == "entry_id"
    assert sum(row[10] for row in rows[1:]) == 6000
    assert all(isinstance(row[2], dt.datetime) for row in rows[1:])


def test_summary_table_per_day_carrier_and_outcome(
    run: Run, month: dict[Outcome | str, LedgerEntry]
) -> None:
    code, out, _ = run("charges", "summary", *MONTH, "--carrier", "viettel")

    assert code == 0
    lines = [line.split() for line in out.splitlines()]
    assert lines[0][:2] == ["2026-11-01", ".."]
    assert lines[2:] == [
        ["2026-11-02", "viettel", "recovery", "not_matched", "1", "1000", "0", "1000"],
        ["2026-11-02", "viettel", "recovery", "reset_sent", "1", "1000", "0", "1000"],
        ["2026-11-02", "viettel", "recovery", "system_error", "1", "1000", "0", "1000"],
        ["2026-11-02", "viettel", "recovery", "wrong_syntax", "1", "1000", "0", "1000"],
        ["2026-11-03", "viettel", "recovery", "wrong_syntax", "1", "1000", "0", "1000"],
        ["total", "5", "5000", "0", "5000"],
    ]


def test_reconciliation_reports_each_kind_of_difference(
    run: Run, month: dict[Outcome | str, LedgerEntry], tmp_path: Path
) -> None:
    served, syntax = month[Outcome.RESET_SENT], month[Outcome.WRONG_SYNTAX]
    error = month[Outcome.SYSTEM_ERROR]
    carrier_file = tmp_path / "viettel-2026-11.csv"
    carrier_file.write_text(
        "Request_ID;User_ID;Time;Amount;Service_ID\n"
        f"{served.carrier_message_id};0912345678;02/11/2026 10:00:00;1000;8079\n"
        f"{syntax.carrier_message_id};0912345678;02/11/2026 10:00:00;1.500;8079\n"
        f"{error.carrier_message_id};0911111111;02/11/2026 10:00:00;1000;8079\n"
        "VT-ONLY-1;0955555555;02/11/2026 11:00:00;1000;8079\n",
        encoding="utf-8",
    )
    mapping = "id=Request_ID,phone=User_ID,time=Time,amount=Amount"

    code, out, _ = run(
        "charges", "reconcile", "--carrier", "viettel", "--columns", mapping, str(carrier_file)
    )

    assert code == 1
    lines = out.splitlines()
    assert lines[:8] == [
        "reconciliation of viettel, 2026-11-02 .. 2026-11-02 (Asia/Ho_Chi_Minh)",
        "  matched                        1",
        "  missing on our side            1            -1000 VND   "
        "viettel billed 1000 VND more than we charged",
        "  missing on theirs              1            +1000 VND   "
        "we charged 1000 VND more than viettel billed",
        "  amount mismatches              1             -500 VND   "
        "viettel billed 500 VND more than we charged",
        "  phone mismatches               1               +0 VND",
        "  our total                                    4000 VND",
        "  their total                                  4500 VND",
    ]
    assert lines[8:10] == [
        "  difference                                   -500 VND   "
        "viettel billed 500 VND more than we charged",
        "  (amounts are ours minus viettel's: + we charged more, - viettel billed more)",
    ]
    assert "  VT-ONLY-1 (line 5): ours - theirs 8495****555 1000" in lines
    assert (
        f"  {month['reply_failed'].carrier_message_id} (ours only): ours 8494****444 1000" in lines
    )
    assert (
        f"  {error.carrier_message_id} (line 4): ours 8493****333 1000 theirs 8491****111 1000"
        in lines
    )


def test_reconciliation_of_a_matching_file_exits_zero(
    run: Run, month: dict[Outcome | str, LedgerEntry], tmp_path: Path
) -> None:
    entry = month["mobifone"]
    carrier_file = tmp_path / "mobifone.csv"
    carrier_file.write_text(
        f"id,phone,time,amount\n{entry.carrier_message_id},0987654321,2026-11-02T03:00:00Z,1000\n"
    )

    code, out, _ = run("charges", "reconcile", "--carrier", "mobifone", str(carrier_file))

    assert code == 0
    assert "  matched                        1" in out
    assert "  difference                                     +0 VND   the totals agree" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,phone,time\nA,0912345678,2026-11-02\n", "line 1: missing column amount (for amount)"),
        ("id,phone,time,amount\nA,0912345678,2026-11-02,1000\nB,x,y\n", "line 3: expected 4 cells"),
        (
            "id,phone,time,amount\nA,0912345678,2026-11-02,1000\nB,Đ,y,z\n",
            "line 3: the file is not UTF-8",
        ),
    ],
)
def test_reconciliation_refuses_a_bad_file_by_line(
    run: Run, tmp_path: Path, content: str, message: str
) -> None:
    carrier_file = tmp_path / "bad.csv"
    data = content.encode("cp1258") if "Đ" in content else content.encode()
    carrier_file.write_bytes(data)

    code, _, err = run("charges", "reconcile", "--carrier", "viettel", str(carrier_file))

    assert code == 2
    assert message in err and "nothing was compared" in err


def test_summary_totals_equal_the_export_on_generated_data(run: Run, runtime: Runtime) -> None:
    from billing.refunds import RefundPolicy, refund_charge
    from tests.integration.finance.test_finance_refunds import add_charge

    outcomes = list(Outcome)
    start = dt.datetime(2026, 10, 31, 12, 0, tzinfo=dt.UTC)
    with runtime.session_factory() as session:
        for i in range(240):
            at = start + dt.timedelta(
                minutes=97 * i
            )  # crosses local midnights and the period's ends
            charge = add_charge(
                session,
                outcomes[i % len(outcomes)],
                carrier=("viettel", "mobifone")[i % 2],
                at=at,
                amount=(500, 1000, 1500)[i % 3],
            )
            if i % 5 == 0:
                refund_charge(
                    session,
                    charge,
                    RefundPolicy(),
                    reason=None,
                    actor="t",
                    at=at,
                    amount_vnd=charge.amount_vnd - i % 2,
                    force=True,
                )
                session.commit()
    period = ("--from", "2026-11-01", "--to", "2026-11-07")

    rows = read_csv(run("charges", "export", *period)[1])
    summary = read_csv(run("charges", "summary", *period, "--csv")[1])

    detail: Counter[tuple[str, str, str, str]] = Counter()
    for r in rows:
        key = (r["local_time"][:10], r["carrier"], r["outcome"], r["kind"])
        detail[key] += abs(int(r["amount_vnd"]))
    for line in summary[:-1]:
        key = (line["local_date"], line["carrier"], line["outcome"])
        assert int(line["charged_vnd"]) == detail[(*key, "charge")]
        assert int(line["refunded_vnd"]) == detail[(*key, "refund")]
    total = summary[-1]
    assert int(total["net_vnd"]) == sum(int(r["amount_vnd"]) for r in rows)
    assert int(total["messages"]) == sum(r["kind"] == "charge" for r in rows)
    assert int(total["refunded_vnd"]) == -sum(
        int(r["amount_vnd"]) for r in rows if r["kind"] == "refund"
    )
    assert min(r["local_time"] for r in rows) >= "2026-11-01 00:00:00"
    assert max(r["local_time"] for r in rows) < "2026-11-08 00:00:00"
