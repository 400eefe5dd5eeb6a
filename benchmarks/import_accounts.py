"""Measure ``gateway accounts import`` on a large CSV: first import, re-import, and a baseline.

    python benchmarks/import_accounts.py [--rows 100000] [--database-url URL]

It writes a CSV of valid rows (10-digit social insurance numbers, many with leading zeros;
phones written as 0912 345 678, +84..., 84..., dotted, and the pre-2018 11-digit 016x form;
some emails; approval dates and times), imports it through the same functions the CLI uses,
imports it again (every row unchanged: the idempotent path), and times a bare ``csv.reader``
pass over the file as the floor the import is compared with. Nothing is asserted about speed.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import func, select

from gateway.accounts.account_csv import read_rows
from gateway.accounts.importer import ImportReport, import_accounts
from gateway.db import create_schema, make_engine, make_session_factory
from gateway.models import Account

T = TypeVar("T")

# Current prefixes and pre-2018 ones (Viettel 016x, VinaPhone 012x), national form.
PREFIXES = ("091", "098", "090", "086", "032", "070", "083", "056")
OLD_PREFIXES = ("0162", "0163", "0168", "0169", "0123", "0127", "0120")
# Any multiplier coprime to 10**10 turns 0..10**10-1 into a permutation: unique numbers,
# spread out, a tenth of them with a leading zero, with no random generator involved.
BHXH_STEP = 7_919_000_003


def bhxh_for(i: int) -> str:
    return f"{(i * BHXH_STEP) % 10**10:010d}"


def phone_for(i: int) -> str:
    subscriber = f"{(i * 7_919) % 10**7:07d}"
    form = i % 7
    if form == 5:
        return OLD_PREFIXES[i % len(OLD_PREFIXES)] + subscriber  # 01629123456
    if form == 6:
        old = OLD_PREFIXES[i % len(OLD_PREFIXES)]
        return f"+84 {old[1:]} {subscriber[:3]} {subscriber[3:]}"  # +84 162 912 3456
    national = PREFIXES[i % len(PREFIXES)] + subscriber  # 0912345678
    return (
        national,
        f"{national[:4]} {national[4:7]} {national[7:]}",
        f"+84{national[1:]}",
        f"84{national[1:]}",
        f"{national[:4]}.{national[4:7]}.{national[7:]}",
    )[form]


def email_for(i: int) -> str:
    if i % 3:
        return ""
    domain = ("gmail.com", "Example.VN", "baohiemxahoi.gov.vn")[i // 3 % 3]
    return f"nguoi.dung{i}@{domain}"


def approved_at_for(i: int) -> str:
    day = dt.date(2019, 1, 1) + dt.timedelta(days=i % 2500)
    if i % 2:
        return day.isoformat()
    return f"{day.isoformat()}T{i % 24:02d}:{i % 60:02d}:00+07:00"


def write_csv(path: Path, rows: int) -> None:
    """Write ``rows`` valid account rows."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["bhxh", "phone", "email", "approved_at"])
        for i in range(rows):
            writer.writerow([bhxh_for(i), phone_for(i), email_for(i), approved_at_for(i)])


def timed(action: Callable[[], T]) -> tuple[T, tuple[float, float]]:
    """Run ``action``; return its result, wall seconds and CPU seconds of this process.

    CPU time includes SQLite's work (it runs in-process) but not a PostgreSQL server's; on a
    shared machine it moves far less than wall time.
    """
    start, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, (time.perf_counter() - start, time.process_time() - cpu)


def csv_reader_pass(path: Path) -> int:
    """Read every row with csv.reader and nothing else: the floor for any import."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return sum(1 for _ in csv.reader(stream)) - 1


def validate_only(path: Path) -> int:
    """Parse and validate every row (read_rows), without touching a database."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return sum(1 for _ in read_rows(stream))


def import_file(path: Path, database_url: str) -> ImportReport:
    """Import the file the way ``gateway accounts import`` does: one session, one commit."""
    engine = make_engine(database_url)
    try:
        with (
            path.open(encoding="utf-8-sig", newline="") as stream,
            make_session_factory(engine)() as session,
        ):
            report = import_accounts(session, read_rows(stream), dt.datetime.now(dt.UTC))
            session.commit()
        return report
    finally:
        engine.dispose()


def line(
    label: str, rows: int, took: tuple[float, float], baseline: tuple[float, float], note: str = ""
) -> str:
    """One result: wall and CPU seconds, rows/s, and both ratios to the csv.reader pass."""
    (seconds, cpu), (base, base_cpu) = took, baseline
    rate = rows / seconds if seconds else float("inf")
    return (
        f"{label:<22} {rows:>9,} rows {seconds:>8.3f} s {rate:>10,.0f} rows/s "
        f"{seconds / base:>6.1f}x csv.reader | cpu {cpu:>7.2f} s {cpu / base_cpu:>6.1f}x{note}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows to generate [100000]")
    parser.add_argument(
        "--database-url",
        help="an empty database to import into [a fresh SQLite file in a temporary folder]",
    )
    args = parser.parse_args()
    if args.rows < 1:
        parser.error("--rows must be positive")

    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = Path(tmp)
        database_url = args.database_url or f"sqlite:///{folder / 'gateway.db'}"
        engine = make_engine(database_url)
        create_schema(engine)
        with engine.connect() as connection:
            existing = connection.scalar(select(func.count(Account.id)))
        backend = engine.dialect.name
        engine.dispose()
        if existing:
            # Existing accounts would turn inserts into updates and the figures into noise.
            print(
                f"the database already holds {existing} accounts; give an empty one",
                file=sys.stderr,
            )
            return 2

        path = folder / "accounts.csv"
        _, (write_seconds, _) = timed(lambda: write_csv(path, args.rows))
        size_mib = path.stat().st_size / 2**20
        print(f"{args.rows:,} rows, {size_mib:.1f} MiB CSV written in {write_seconds:.2f} s")
        print(f"database: {backend}, python {sys.version.split()[0]}")

        read, baseline = timed(lambda: csv_reader_pass(path))
        validated, validate_seconds = timed(lambda: validate_only(path))
        first, first_seconds = timed(lambda: import_file(path, database_url))
        second, second_seconds = timed(lambda: import_file(path, database_url))

        for report, expected in ((first, "created"), (second, "unchanged")):
            counts = {"created": report.created, "updated": report.updated}
            counts["unchanged"] = report.unchanged
            if report.errors or counts[expected] != args.rows:
                print(f"unexpected import result: {counts}, {report.errors[:5]}", file=sys.stderr)
                return 1

        print(line("csv.reader (baseline)", read, baseline, baseline))
        print(line("read_rows (validate)", validated, validate_seconds, baseline))
        print(line("first import", args.rows, first_seconds, baseline, "  (all created)"))
        print(line("re-import", args.rows, second_seconds, baseline, "  (all unchanged)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
