"""Measure ``gateway charges export`` on a large ledger, beside ``sqlite3 -csv`` on the same rows.

    python benchmarks/export_charges.py [--entries 1000000] [--keep FILE.db | --database FILE.db]
                                        [--openpyxl]

It fills a fresh SQLite file (migrated by Alembic, as ``gateway init-db`` does) with inbound
messages and their charges (a refund for one in twenty), spread over November 2026, or reuses
one kept earlier. Then it runs the real command, ``gateway charges export --from 2026-11-01
--to 2026-11-30 --output FILE``, as a separate process and reports its wall time, CPU time and
peak resident memory (the whole process: interpreter, imports, settings, the schema check and
the rows), beside the same for one day (flat memory: both alike); the XLSX export of the first
three days (``write_xlsx``; with ``--openpyxl`` also openpyxl's write-only mode on the same
rows, the writer it replaced); and ``/usr/bin/sqlite3 -csv`` dumping the same rows: the baseline
every ratio is against. Nothing is asserted.

The peak is read as ``/usr/bin/time -v`` reads it (``%M``) when that is installed, else as the
command's own ``VmHWM`` at exit. Not ``getrusage(RUSAGE_CHILDREN)`` in this process: a child's
maximum counts the memory it was forked from, here the generator's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, insert

from billing.export import BATCH, HEADER, LOCAL_OFFSET
from billing.export_xlsx import write_xlsx
from billing.ledger import LedgerEntry
from billing.periods import local_days
from billing.refunds import RefundPolicy
from gateway.db import make_engine, make_session_factory
from gateway.models import InboundMessage
from gateway.schema import upgrade

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
    """Run ``gateway charges export`` for Nov 1 .. ``last_day`` in its own process.

    Return rows, wall seconds, the whole process's peak resident memory in KiB and its CPU
    seconds.
    """
    folder = path.parent
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": f"sqlite:///{database}",
        "GATEWAY_INSTANCE_DIR": str(folder),
        "GATEWAY_SECRET_KEY": secrets.token_hex(32),
    }
    command = [*_gateway(), "charges", "export", "--from", "2026-11-01", "--to", last_day]
    command += ["--output", str(path)]
    peak_file = folder / "peak.txt"
    if TIME is not None:  # the measure: %M is ru_maxrss of a child of a small process
        command = [TIME, "-f", "%M", "-o", str(peak_file), *command]
    else:  # the command reports its own VmHWM (this image's peak) as it exits
        env["EXPORT_PEAK_FILE"] = str(peak_file)
        command = [sys.executable, "-c", _REPORTING_PEAK, *command[1:]]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(  # noqa: S603
        command, cwd=folder, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"gateway charges export failed ({done.returncode}): {done.stderr}")
    rows = int(done.stderr.strip().splitlines()[-1].split()[0])  # "N entries written to FILE"
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return rows, seconds, int(peak_file.read_text().split()[-1]), cpu


# /usr/bin/time is GNU time (Debian package "time"); the shell's builtin cannot write %M.
TIME = shutil.which("time", path="/usr/bin:/bin")
# The fallback's own VmHWM, read as the command exits (nothing of this module is imported).
_REPORTING_PEAK = (
    "import atexit, os, sys\n"
    "def peak():\n"
    "    status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
    "    open(os.environ['EXPORT_PEAK_FILE'], 'w').write(status.split()[0])\n"
    "atexit.register(peak)\n"
    "sys.argv[0] = 'gateway'\n"
    "from gateway.cli import main\n"
    "sys.exit(main())\n"
)


def _gateway() -> list[str]:
    script = Path(sys.executable).parent / "gateway"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gateway"]


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
    parser.add_argument("--entries", type=int, default=1_000_000, help="ledger rows [1000000]")
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
            upgrade(engine)  # the schema check of the command then takes its production path
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
        how = "/usr/bin/time %M" if TIME else "VmHWM at exit"
        print(
            f"peak RSS of `gateway charges export` ({how}): {rss / 1024:.1f} MiB for "
            f"{rows:,} rows, {small_rss / 1024:.1f} MiB for {small_rows:,} rows (one day)"
        )
        if args.keep:
            shutil.copy(database, args.keep)
    return 0 if args.database or rows == args.entries else 1


if __name__ == "__main__":
    sys.exit(main())
