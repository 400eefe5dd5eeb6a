"""Measure ``gateway charges export`` on a large ledger, beside ``sqlite3 -csv`` on the same rows.

    python benchmarks/export_charges.py [--entries 200000] [--keep FILE.db | --database FILE.db]
                                        [--openpyxl]

It fills a fresh SQLite file with inbound messages and their charges (a refund for one in
twenty), spread over November 2026 (or reuses one kept earlier), then times the CSV export of
the month through the same functions the CLI uses (``export_lines`` + ``write_csv``) in a child
process with its peak resident memory, beside the same for one day (flat memory: both alike),
the XLSX export of the first three days (``write_xlsx``; with ``--openpyxl`` also openpyxl's
write-only mode on the same rows, the writer it replaced), and ``/usr/bin/sqlite3 -csv``
dumping the same rows: the baseline every ratio is against. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, insert

from billing.export import BATCH, HEADER, LOCAL_OFFSET, export_lines, write_csv
from billing.export_xlsx import write_xlsx
from billing.ledger import LedgerEntry
from billing.periods import local_days
from billing.refunds import RefundPolicy
from gateway.db import create_schema, make_engine, make_session_factory
from gateway.models import InboundMessage

CHUNK = 50_000
OUTCOMES = ("reset_sent", "wrong_syntax", "not_matched", "rate_limited", "system_error")
START = dt.datetime(2026, 10, 31, 17, 0)  # local midnight, Nov 1 (stored naive UTC)
SQLITE_SQL = (
    "SELECT id, kind, created_at, carrier, shortcode, message_id, carrier_message_id, phone, "
    "outcome, amount_vnd, tariff, refund_of, reason, message_at FROM ledger_entries "
    "WHERE created_at >= '2026-10-31 17:00:00' AND created_at < '2026-11-30 17:00:00' "
    "ORDER BY created_at, id"
)


def fill(engine: Engine, entries: int) -> None:
    """Insert ``entries`` ledger rows (charges and about 5 % refunds) with their messages."""
    step = dt.timedelta(days=29) / entries  # the whole month, away from its last local day
    messages = -(-entries * 20 // 21)
    refunded = entries - messages  # one message in twenty, up to the exact number asked for
    with engine.begin() as connection:
        for first in range(0, messages, CHUNK):
            rows, charges, refunds = [], [], []
            for i in range(first, min(first + CHUNK, messages)):
                at = START + step * i
                carrier = ("viettel", "mobifone", "vinaphone")[i % 3]
                phone = f"849{(i * 7919) % 10**8:08d}"
                rows.append(_message(i, carrier, phone, at))
                charge = _charge(i, carrier, phone, at)
                charges.append(charge)
                if i % 20 == 0 and i // 20 < refunded:
                    refund = {**charge, "id": messages + i + 1, "kind": "refund"}
                    refunds.append(refund | {"refund_of": i + 1, "reason": "system_error"})
            connection.execute(insert(InboundMessage.__table__), rows)
            connection.execute(insert(LedgerEntry.__table__), charges)
            if refunds:
                connection.execute(insert(LedgerEntry.__table__), refunds)


def _message(i: int, carrier: str, phone: str, at: dt.datetime) -> dict[str, object]:
    aware = at.replace(tzinfo=dt.UTC)
    return {
        "id": i + 1,
        "carrier": carrier,
        "carrier_message_id": f"{carrier[:2].upper()}-{i:09d}",
        "sender": phone,
        "recipient": "8079",
        "text": "BH MK 0123456789",
        "content_digest": f"{i:064d}",
        "created_at": aware,
        "status": "processed",
        "outcome": OUTCOMES[i % len(OUTCOMES)],
        "replied": True,
        "attempts": 0,
        "processed_at": aware,
    }


def _charge(i: int, carrier: str, phone: str, at: dt.datetime) -> dict[str, object]:
    aware = at.replace(tzinfo=dt.UTC)
    return {
        "id": i + 1,
        "message_id": i + 1,
        "carrier": carrier,
        "carrier_message_id": f"{carrier[:2].upper()}-{i:09d}",
        "shortcode": "8079",
        "phone": phone,
        "amount_vnd": 1000,
        "kind": "charge",
        "outcome": OUTCOMES[i % len(OUTCOMES)],
        "tariff": "8079:1000",
        "created_at": aware,
        "message_at": aware,
        "refund_of": None,
        "reason": None,
        "actor": None,
    }


def export(database: Path, path: Path, last_day: str) -> tuple[int, float, int, float]:
    """Export Nov 1 .. ``last_day`` as the CLI does, in a child process.

    Return rows, seconds, the child's peak resident memory in KiB (``VmHWM``: unlike
    getrusage, it does not inherit the parent's peak across fork and exec) and its CPU seconds.
    """
    code = (
        "import sys, time; sys.path.insert(0, 'benchmarks');"
        "from pathlib import Path; from export_charges import export_here, peak_rss;"
        "cpu = time.process_time();"
        f"rows, seconds = export_here(Path({str(database)!r}), Path({str(path)!r}), {last_day!r});"
        "print(rows, seconds, peak_rss(), time.process_time() - cpu)"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), float(out[1]), int(out[2]), float(out[3])


def peak_rss() -> int:
    """Return this process's peak resident memory in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def export_here(database: Path, path: Path, last_day: str) -> tuple[int, float]:
    """Export Nov 1 .. ``last_day`` to CSV through export_lines and write_csv; time it."""
    engine = make_engine(f"sqlite:///{database}")
    factory = make_session_factory(engine.execution_options(sqlite_begin="DEFERRED"))
    start = time.perf_counter()
    with factory() as session, path.open("w", encoding="utf-8", newline="") as stream:
        batches = export_lines(session, local_days("2026-11-01", last_day), RefundPolicy())
        rows = write_csv(stream, batches)
    return rows, time.perf_counter() - start


XLSX_DAYS = ("2026-11-01", "2026-11-03")


def export_xlsx(engine: Engine, path: Path) -> tuple[int, float]:
    """Export the first three days as XLSX (write_xlsx); return rows and seconds."""
    factory = make_session_factory(engine.execution_options(sqlite_begin="DEFERRED"))
    start = time.perf_counter()
    with factory() as session:
        rows = write_xlsx(str(path), session, local_days(*XLSX_DAYS), RefundPolicy())
    return rows, time.perf_counter() - start


def export_openpyxl(engine: Engine, path: Path) -> tuple[int, float]:
    """Write the same rows with openpyxl's write-only mode, the writer write_xlsx replaced."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    from billing.export import entries_query
    from billing.export_xlsx import _naive

    factory = make_session_factory(engine.execution_options(sqlite_begin="DEFERRED"))
    start = time.perf_counter()
    query = entries_query(
        local_days(*XLSX_DAYS),
        RefundPolicy(),
        carrier=None,
        masked=True,
        time=_naive,
        local_time=_naive,
        text=lambda column, *_: column,
    )
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("charges")
    sheet.append(HEADER)
    rows = 0
    with factory() as session:
        for row in session.connection().execute(query.execution_options(yield_per=BATCH)):
            cells = list(row)
            cells[3] += LOCAL_OFFSET
            sheet.append(cells)
            rows += 1
    workbook.save(str(path))
    return rows, time.perf_counter() - start


def sqlite3_dump(database: Path, path: Path) -> tuple[float, float]:
    """Time the sqlite3 shell dumping the same rows as CSV: the floor for any export.

    Return wall and CPU seconds (the shell's user + system time).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with path.open("wb") as stream:
        subprocess.run(["sqlite3", "-csv", str(database), SQLITE_SQL], stdout=stream, check=True)  # noqa: S603,S607
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.perf_counter() - start, cpu


def line(label: str, rows: int, seconds: float, per_row_baseline: float, note: str = "") -> str:
    """One result: figure, rate, and the ratio to sqlite3's time for as many rows."""
    ratio = seconds / (per_row_baseline * rows) if rows else float("nan")
    return (
        f"{label:<26} {rows:>10,} rows {seconds:>8.2f} s {rows / seconds:>10,.0f} rows/s "
        f"{ratio:>6.1f}x sqlite3{note}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000, help="ledger rows [200000]")
    parser.add_argument("--keep", type=Path, help="copy the generated database here")
    parser.add_argument("--database", type=Path, help="reuse a database kept with --keep")
    parser.add_argument("--openpyxl", action="store_true", help="also time openpyxl (slow)")
    args = parser.parse_args()
    if args.entries < 21:
        parser.error("--entries must be at least 21")
    if shutil.which("sqlite3") is None:
        print("sqlite3 is not installed; the baseline needs it", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        folder = Path(tmp)
        if args.database:
            database = args.database
        else:
            database = folder / "gateway.db"
            engine = make_engine(f"sqlite:///{database}")
            create_schema(engine)
            start = time.perf_counter()
            fill(engine, args.entries)
            engine.dispose()
            print(f"{args.entries:,} entries generated in {time.perf_counter() - start:.1f} s")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")

        small_rows, _, small_rss, _ = export(database, folder / "day.csv", "2026-11-01")
        rows, seconds, rss, cpu = export(database, folder / "export.csv", "2026-11-30")
        baseline, baseline_cpu = sqlite3_dump(database, folder / "sqlite3.csv")
        per_row = baseline / rows
        engine = make_engine(f"sqlite:///{database}")
        xlsx_rows, xlsx_seconds = export_xlsx(engine, folder / "export.xlsx")
        openpyxl = export_openpyxl(engine, folder / "openpyxl.xlsx") if args.openpyxl else None
        engine.dispose()
        size = (folder / "export.csv").stat().st_size / 2**20
        print(line("sqlite3 -csv (baseline)", rows, baseline, per_row))
        print(line("charges export CSV", rows, seconds, per_row, f"  {size:.0f} MiB"))
        print(
            f"CPU seconds: sqlite3 {baseline_cpu:.2f} s, CSV export {cpu:.2f} s "
            f"({cpu / baseline_cpu:.1f}x; the figure that moves least on a busy machine)"
        )
        print(line("charges export XLSX", xlsx_rows, xlsx_seconds, per_row, "  (first 3 days)"))
        if openpyxl:
            print(line("openpyxl write-only XLSX", *openpyxl, per_row, "  (same rows)"))
        print(
            f"peak RSS of the export process: {rss / 1024:.0f} MiB for {rows:,} rows, "
            f"{small_rss / 1024:.0f} MiB for {small_rows:,} rows (one day)"
        )
        if args.keep:
            shutil.copy(database, args.keep)
    return 0 if args.database or rows == args.entries else 1


if __name__ == "__main__":
    sys.exit(main())
